// Enforces the import rules of docs/architecture.md. The layer table on that page is the only copy
// of the rules: this test parses it, then checks every import in src/ against it and looks for import
// cycles between files (type-only imports included). Fixture trees under test/fixtures/architecture
// prove the checks catch what they claim to.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';

const ROOT = resolve(import.meta.dirname, '../..');
const SRC = join(ROOT, 'src');
const FIXTURES = join(ROOT, 'test/fixtures/architecture');

/** folder -> the folders it may import (`'*'`: anything). `limits` is src/limits.ts, `root` src/index.ts. */
type Rules = ReadonlyMap<string, readonly string[] | '*'>;

/** Reads the layer table of docs/architecture.md. */
function readRules(): Rules {
  const doc = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8');
  const rules = new Map<string, readonly string[] | '*'>();
  const rows = doc.split('\n').filter((l) => /^\| `[^`]+` \|/.test(l));
  for (const row of rows) {
    const cells = row.split(' | ');
    const name = /^\| `([^`]+)`$/.exec(cells[0] ?? '')?.[1];
    const may = (cells.at(-1) ?? '')
      .replace(/ \|$/, '')
      .replace(/\([^)]*\)/g, '')
      .trim();
    assert.ok(name !== undefined, `layer table row: ${row}`);
    const folder = name === 'limits.ts' ? 'limits' : name === 'index.ts' ? 'root' : name.replace(/\/.*$/, '');
    if (may === 'anything') rules.set(folder, '*');
    else if (may === 'nothing') rules.set(folder, []);
    else {
      const list = may.split(',').map((s) => s.trim());
      for (const s of list) assert.match(s, /^`[a-z]+`$/, `layer table, row ${name}: "${s}" is not a folder name`);
      rules.set(
        folder,
        list.map((s) => s.slice(1, -1)),
      );
    }
  }
  return rules;
}

const RULES = readRules();

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

function folderOf(src: string, file: string): string {
  const rel = relative(src, file).split(sep);
  if (rel.length === 1) return rel[0] === 'limits.ts' ? 'limits' : 'root';
  return rel[0] ?? 'root';
}

/**
 * Every module a file names: `import` (also `import type` and side-effect imports), `export ... from`,
 * dynamic `import()` and `typeof import()`. Read by TypeScript's scanner, so comments and strings are
 * not mistaken for imports.
 */
function importsOf(file: string): string[] {
  return ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map((f) => f.fileName);
}

/** Problems in the tree at `src` (a `src/` folder): broken layer rules and import cycles. */
function check(src: string, rules: Rules): string[] {
  const problems: string[] = [];
  const files = walk(src);
  const edges = new Map<string, string[]>();
  const present = new Set(files.map((f) => folderOf(src, f)));
  for (const folder of present) if (!rules.has(folder)) problems.push(`folder ${folder} is not in the layer table`);
  for (const file of files) {
    const from = folderOf(src, file);
    const rel = relative(src, file).split(sep).join('/');
    const allowed = rules.get(from);
    const targets: string[] = [];
    for (const spec of importsOf(file)) {
      if (spec.startsWith('node:')) continue;
      if (!spec.startsWith('.')) {
        problems.push(`${rel} imports ${spec}: the library has zero runtime dependencies (use node:* only)`);
        continue;
      }
      const target = resolve(file, '..', spec).replace(/\.js$/, '.ts');
      const relTarget = relative(src, target).split(sep).join('/');
      if (relTarget.startsWith('..')) {
        problems.push(`${rel} imports ${spec}: outside src/`);
        continue;
      }
      targets.push(target);
      const to = folderOf(src, target);
      if (to === from || allowed === undefined) continue;
      if (to === 'cli') problems.push(`${rel} imports ${relTarget}: nothing may import cli`);
      else if (allowed !== '*' && !allowed.includes(to))
        problems.push(`${rel} imports ${relTarget}: ${from} may not import ${to}`);
    }
    edges.set(file, targets);
  }
  for (const cycle of cycles(edges)) {
    const names = cycle.map((f) => relative(src, f).split(sep).join('/'));
    problems.push(`import cycle: ${[...names, names[0]].join(' -> ')}`);
  }
  return problems;
}

/** The strongly connected components with a cycle (Tarjan), each as one cycle through its files. */
function cycles(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!edges.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || (edges.get(v) ?? []).includes(v)) found.push(shortestCycle(component.sort(), edges));
  };
  for (const v of [...edges.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}

/** A shortest cycle through the first file of a strongly connected component (breadth first). */
function shortestCycle(component: readonly string[], edges: ReadonlyMap<string, readonly string[]>): string[] {
  const start = component[0]!;
  const inside = new Set(component);
  const cameFrom = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const v = queue[i]!;
    for (const w of edges.get(v) ?? []) {
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(cameFrom.get(path[0]!)!);
        return path;
      }
      if (inside.has(w) && !cameFrom.has(w)) {
        cameFrom.set(w, v);
        queue.push(w);
      }
    }
  }
  return [...component];
}

function checkFixture(name: string): string[] {
  const src = join(FIXTURES, name, 'src');
  assert.ok(existsSync(src), `fixture ${name}`);
  return check(src, RULES);
}

test('the layer table in docs/architecture.md has a row for every folder of src/ and no other', () => {
  const folders = readdirSync(SRC).filter((n) => statSync(join(SRC, n)).isDirectory());
  assert.deepEqual([...RULES.keys()].filter((k) => k !== 'limits' && k !== 'root').sort(), folders.sort());
  assert.ok(existsSync(join(SRC, 'limits.ts')) && existsSync(join(SRC, 'index.ts')));
  // The rules the page states in words hold in the table too.
  for (const [folder, may] of RULES) {
    if (may === '*') continue;
    for (const to of may) assert.ok(RULES.has(to), `${folder} may import ${to}, which has no row`);
    assert.ok(!may.includes('cli'), `${folder} may import cli`);
    if (['wire', 'protocol', 'transport', 'client', 'server', 'schema'].includes(folder))
      for (const up of ['simulator', 'proxy', 'launcher']) assert.ok(!may.includes(up), `${folder} may import ${up}`);
  }
});

test('every import in src/ follows the layer table, and no files import each other in a cycle', () => {
  assert.ok(walk(SRC).length > 10, 'found the sources');
  const problems = check(SRC, RULES);
  assert.deepEqual(problems, []);
});

test('a tree that follows the rules passes (comments are not imports, lazy imports downward are fine)', () => {
  assert.deepEqual(checkFixture('clean'), []);
});

test('an upward import is caught', () => {
  assert.deepEqual(checkFixture('upward'), ['wire/decode.ts imports client/session.ts: wire may not import client']);
});

test('a re-export (export ... from) is caught', () => {
  assert.deepEqual(checkFixture('reexport'), [
    'protocol/index.ts imports server/serve.ts: protocol may not import server',
  ]);
});

test('a dynamic import() is caught', () => {
  assert.deepEqual(checkFixture('dynamic'), [
    'transport/connect.ts imports launcher/spawn.ts: transport may not import launcher',
  ]);
});

test('importing cli is caught', () => {
  assert.deepEqual(checkFixture('cli-import'), ['server/log.ts imports cli/output.ts: nothing may import cli']);
});

test('a package import, even type-only, and an upward side-effect import are caught', () => {
  assert.deepEqual(checkFixture('dependency'), [
    'wire/parse.ts imports typescript: the library has zero runtime dependencies (use node:* only)',
    'wire/parse.ts imports client/boot.ts: wire may not import client',
  ]);
});

test('a cycle of type-only imports inside one folder is caught, and a file importing itself', () => {
  assert.deepEqual(checkFixture('type-cycle'), [
    'import cycle: client/request.ts -> client/tracker.ts -> client/request.ts',
    'import cycle: wire/value.ts -> wire/value.ts',
  ]);
});

test('a folder without a row in the table is caught', () => {
  assert.deepEqual(checkFixture('unlisted'), ['folder gadgets is not in the layer table']);
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
