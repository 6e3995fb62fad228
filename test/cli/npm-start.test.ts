// `npm start` builds only when it must: scripts/build-if-stale.mjs leaves a fresh build alone, and
// rebuilds src/ when a source is newer than the compiled CLI (checked in a scratch project).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../helpers/golden.js';

const run = promisify(execFile);
const SCRIPT = join(PROJECT_ROOT, 'scripts/build-if-stale.mjs');

/** A project with one source file and, optionally, a compiled CLI older than it. */
function scratch(withOldBuild: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-start-'));
  try {
    fill(dir, withOldBuild);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return dir;
}

function fill(dir: string, withOldBuild: boolean): void {
  mkdirSync(join(dir, 'scripts'));
  cpSync(SCRIPT, join(dir, 'scripts/build-if-stale.mjs'));
  symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(dir, 'node_modules'));
  mkdirSync(join(dir, 'src/cli'), { recursive: true });
  writeFileSync(join(dir, 'src/cli/qmpkit.ts'), 'export const answer: number = 42;\n');
  writeFileSync(
    join(dir, 'tsconfig.json'),
    '{"compilerOptions": {"target": "es2023", "module": "nodenext", "rootDir": ".", "outDir": "dist", "types": []}}\n',
  );
  writeFileSync(join(dir, 'tsconfig.src.json'), '{"extends": "./tsconfig.json", "include": ["src/**/*.ts"]}\n');
  if (withOldBuild) {
    mkdirSync(join(dir, 'dist/src/cli'), { recursive: true });
    const entry = join(dir, 'dist/src/cli/qmpkit.js');
    writeFileSync(entry, 'export const answer = 0;\n');
    const past = new Date(Date.now() - 3600_000);
    utimesSync(entry, past, past);
  }
}

test('a build newer than every source is left alone: no compiler run, nothing printed', async () => {
  const dir = scratch(false);
  try {
    await run(process.execPath, ['scripts/build-if-stale.mjs'], { cwd: dir });
    const entry = join(dir, 'dist/src/cli/qmpkit.js');
    assert.ok(existsSync(entry), 'the first run builds');
    const again = await run(process.execPath, ['scripts/build-if-stale.mjs'], { cwd: dir });
    assert.equal(again.stderr, '');
    assert.equal(again.stdout, '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a source newer than the build is compiled again', async () => {
  const dir = scratch(true);
  try {
    const r = await run(process.execPath, ['scripts/build-if-stale.mjs'], { cwd: dir });
    assert.equal(r.stderr, 'Sources changed: rebuilding...\n');
    const { answer } = (await import(join(dir, 'dist/src/cli/qmpkit.js'))) as { answer: number };
    assert.equal(answer, 42);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
