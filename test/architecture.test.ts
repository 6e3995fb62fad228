// Enforces the import rules of docs/architecture.md: nothing imports upward, nothing imports cli/,
// core folders import only node:* and the folders below them.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';

const SRC = resolve(import.meta.dirname, '../../src');

/** folder -> folders it may import. `root` is src/index.ts. */
const ALLOWED: Record<string, readonly string[]> = {
  errors: [],
  limits: [],
  trace: [],
  wire: ['errors', 'limits'],
  protocol: ['wire', 'errors', 'limits'],
  transport: ['errors', 'limits', 'trace'],
  client: ['transport', 'protocol', 'wire', 'schema', 'errors', 'limits', 'trace', 'qapi'],
  server: ['transport', 'protocol', 'wire', 'schema', 'errors', 'limits', 'trace'],
  schema: ['errors', 'limits'],
  codegen: ['schema', 'errors', 'limits'],
  qapi: [],
  simulator: ['server', 'transport', 'protocol', 'wire', 'schema', 'errors', 'limits', 'trace', 'qapi'],
  proxy: ['client', 'server', 'transport', 'protocol', 'wire', 'errors', 'limits', 'trace'],
  launcher: ['transport', 'client', 'protocol', 'errors', 'limits', 'trace'],
  cli: [
    'proxy',
    'simulator',
    'launcher',
    'codegen',
    'client',
    'server',
    'schema',
    'transport',
    'protocol',
    'wire',
    'qapi',
    'errors',
    'limits',
    'trace',
  ],
  root: [
    'client',
    'server',
    'schema',
    'transport',
    'protocol',
    'wire',
    'errors',
    'limits',
    'trace',
    'qapi',
    'launcher',
    'proxy',
    'simulator',
    'codegen',
  ],
};

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

function folderOf(file: string): string {
  const rel = relative(SRC, file).split(sep);
  if (rel.length === 1) return rel[0] === 'limits.ts' ? 'limits' : 'root';
  return rel[0] ?? 'root';
}

const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

test('every import in src/ follows the layer table', () => {
  const problems: string[] = [];
  const files = walk(SRC);
  assert.ok(files.length > 10, 'found the sources');
  for (const file of files) {
    const from = folderOf(file);
    const rules = ALLOWED[from];
    const relFile = relative(SRC, file);
    if (!rules) {
      problems.push(`${relFile}: folder ${from} is not in the layer table`);
      continue;
    }
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(IMPORT_RE)) {
      const spec = m[1] ?? m[2] ?? '';
      if (spec.startsWith('node:')) continue;
      if (!spec.startsWith('.')) {
        problems.push(`${relFile} imports ${spec}: the library has zero runtime dependencies (use node:* only)`);
        continue;
      }
      const target = resolve(file, '..', spec);
      if (!target.startsWith(SRC)) {
        problems.push(`${relFile} imports ${spec}: outside src/`);
        continue;
      }
      const to = folderOf(target.replace(/\.js$/, '.ts'));
      if (to === from) continue;
      if (to === 'cli') {
        problems.push(`${relFile} imports ${relative(SRC, target)}: nothing may import cli`);
      } else if (!rules.includes(to)) {
        problems.push(`${relFile} imports ${relative(SRC, target)}: ${from} may not import ${to}`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

test('the rule table catches an upward import', () => {
  // Guards the test itself: a client file importing cli must be reported.
  const rules = ALLOWED['client'] ?? [];
  assert.ok(!rules.includes('cli'));
  assert.ok(!rules.includes('server'));
  assert.ok(!(ALLOWED['wire'] ?? []).includes('protocol'));
});

test('each folder index.ts opens with a comment saying what it owns', () => {
  const missing: string[] = [];
  for (const name of readdirSync(SRC)) {
    const p = join(SRC, name);
    if (!statSync(p).isDirectory() || name === 'qapi') continue;
    const text = readFileSync(join(p, 'index.ts'), 'utf8');
    if (!text.startsWith('//') && !text.startsWith('/*')) missing.push(name);
  }
  assert.deepEqual(missing, []);
});
