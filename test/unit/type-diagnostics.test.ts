// What a user sees from the compiler for a mistake: a misspelled command name must be reported as
// that name not being a command (not as a wrong count of arguments). Compiles a fixture against the
// built declarations with the TypeScript compiler (a dev dependency) and reads the diagnostics.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';

const ROOT = resolve(import.meta.dirname, '../../..');

function diagnosticsOf(fixture: string): { line: number; text: string }[] {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-types-'));
  try {
    const client = join(ROOT, 'dist/src/client/index.js');
    const source = readFileSync(join(ROOT, 'test/fixtures/types', fixture), 'utf8')
      .replace("'QMPKIT'", JSON.stringify(client))
      .replace("'QMPKIT_QAPI'", JSON.stringify(join(ROOT, 'dist/src/qapi/index.js')));
    const file = join(dir, 'user.ts');
    writeFileSync(file, source);
    const program = ts.createProgram([file], {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      exactOptionalPropertyTypes: true,
      target: ts.ScriptTarget.ES2023,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      typeRoots: [join(ROOT, 'node_modules/@types')],
      types: ['node'],
    });
    return ts.getPreEmitDiagnostics(program).map((d) => ({
      line: d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0,
      text: ts.flattenDiagnosticMessageText(d.messageText, '\n'),
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a misspelled command name is reported by name, on its own line', () => {
  const found = diagnosticsOf('misspelled-command.txt');
  const lines = found.map((d) => `${d.line}: ${d.text}`).join('\n');
  assert.equal(found.length, 3, lines);
  const expected: [number, string][] = [
    [6, 'query-statuss'],
    [7, 'device-del'],
    [8, 'query-yanks'],
  ];
  for (const [i, [line, name]] of expected.entries()) {
    const d = found[i];
    assert.equal(d?.line, line, lines);
    // "Argument of type '"query-statuss"' is not assignable to parameter of type '"stop" | ...'".
    assert.match(
      d?.text ?? '',
      new RegExp(`^Argument of type '"${name}"' is not assignable to parameter of type`),
      lines,
    );
    assert.match(
      d?.text ?? '',
      /type '"add-fd" \| "add_client" \| .* \| "yank"'/,
      'the target is the union of command names',
    );
    assert.doesNotMatch(d?.text ?? '', /Expected \d/, lines);
  }
});

test('a command a compatibility range lacks is reported with the release that lacks it', () => {
  const found = diagnosticsOf('missing-in-range.txt');
  const lines = found.map((d) => `${d.line}: ${d.text}`).join('\n');
  assert.equal(found.length, 2, lines);
  // query-audiodevs came after 7.2; x-query-rdma was gone by 9.2 (the first release lacking it).
  const expected: [number, string, string][] = [
    [8, 'query-audiodevs', '7\\.2'],
    [9, 'x-query-rdma', '9\\.2'],
  ];
  for (const [i, [line, name, release]] of expected.entries()) {
    const d = found[i];
    assert.equal(d?.line, line, lines);
    assert.match(d?.text ?? '', new RegExp(`'"${name}"'.*NotInQemu<"${release}">`, 's'), lines);
    assert.doesNotMatch(d?.text ?? '', /Expected \d/, lines);
  }
});
