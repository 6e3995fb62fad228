// Runs chosen compiled test files many times in a row and reports how often each passed, so a flaky
// test shows up before it reaches CI. Usage (after `npm run build`):
//
//   node scripts/repeat-tests.mjs [--runs N] [--busy K] [--jobs J] [--log DIR] [file|folder ...]
//
// --runs N  runs of each file (default 20); --jobs J  files run at once (default 2); --busy K  CPU
// burner processes kept spinning meanwhile (default 0; `--busy` alone means one per core), so the
// tests see a loaded machine; --log DIR  keeps the output of every failed run there. Files and
// folders may be given as test/x/y.test.ts or dist/test/x/y.test.js; none means every test file.
// Exit status 1 when any run failed.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

const root = 'dist/test';

function usage(msg) {
  console.error(`repeat-tests: ${msg}`);
  console.error(
    'usage: node scripts/repeat-tests.mjs [--runs N] [--busy [K]] [--jobs J] [--log DIR] [file|folder ...]',
  );
  process.exit(2);
}

function parseArgs(argv) {
  const o = { runs: 20, busy: 0, jobs: 2, log: undefined, targets: [] };
  const num = (v, name) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) usage(`${name} wants a whole number, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--runs') o.runs = num(argv[++i], a);
    else if (a === '--jobs') o.jobs = Math.max(1, num(argv[++i], a));
    else if (a === '--log') o.log = argv[++i] ?? usage('--log wants a directory');
    else if (a === '--busy') {
      const next = argv[i + 1];
      if (next !== undefined && /^\d+$/.test(next)) o.busy = num(argv[++i], a);
      else o.busy = availableParallelism();
    } else if (a.startsWith('--')) usage(`unknown option ${a}`);
    else o.targets.push(a);
  }
  return o;
}

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...collect(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

// test/a/b.test.ts, dist/test/a/b.test.js and a/b all name the same compiled file or folder.
function resolveTarget(t) {
  let p = t.replace(/\\/g, '/').replace(/^\.\//, '');
  if (p.startsWith('test/')) p = `dist/${p}`;
  else if (!p.startsWith('dist/')) p = join(root, p);
  p = p.replace(/\.ts$/, '.js');
  if (!existsSync(p)) usage(`no such compiled test file or folder: ${p} (did you run npm run build?)`);
  return statSync(p).isDirectory() ? collect(p) : [p];
}

function runOnce(file) {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--unhandled-rejections=strict', '--test', '--test-timeout=240000', '--test-reporter=spec', file],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const chunks = [];
    child.stdout.on('data', (c) => chunks.push(c));
    child.stderr.on('data', (c) => chunks.push(c));
    child.on('close', (code, signal) =>
      resolve({ ok: code === 0, code, signal, output: Buffer.concat(chunks).toString() }),
    );
  });
}

// A burner is a separate process spinning on the CPU, so it competes with the tests the way
// another build or test run on the same machine would.
function startBurners(n) {
  const spin = 'for(;;){}';
  return Array.from({ length: n }, () => spawn(process.execPath, ['-e', spin], { stdio: 'ignore' }));
}

const opts = parseArgs(process.argv.slice(2));
if (!existsSync(root)) usage('dist/test is missing; run `npm run build` first');
// Given targets keep their order (put the suspects first); a file named twice runs once.
const files = [...new Set(opts.targets.length > 0 ? opts.targets.flatMap(resolveTarget) : collect(root).sort())];
if (opts.log !== undefined) mkdirSync(opts.log, { recursive: true });

const burners = startBurners(opts.busy);
const stopBurners = () => {
  for (const b of burners) b.kill('SIGKILL');
};
process.on('exit', stopBurners);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    stopBurners();
    process.exit(130);
  });
}

const results = new Map(files.map((f) => [f, { pass: 0, fail: [] }]));
const queue = files.slice();
console.log(
  `repeat-tests: ${files.length} file(s), ${opts.runs} run(s) each, ${opts.jobs} at once, ${opts.busy} burner(s)`,
);

async function lane() {
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    const r = results.get(file);
    const started = Date.now();
    for (let i = 1; i <= opts.runs; i++) {
      const out = await runOnce(file);
      if (out.ok) r.pass++;
      else {
        r.fail.push(i);
        if (opts.log !== undefined) {
          const name = `${file.slice(root.length + 1).replace(/[/\\]/g, '__')}.run${i}.log`;
          writeFileSync(join(opts.log, name), out.output);
        }
      }
    }
    const s = ((Date.now() - started) / 1000).toFixed(0);
    const tail = r.fail.length > 0 ? `  FAILED runs: ${r.fail.join(', ')}` : '';
    console.log(`${r.pass}/${opts.runs}  ${file}  (${s} s)${tail}`);
  }
}

await Promise.all(Array.from({ length: Math.min(opts.jobs, files.length) }, lane));
stopBurners();

const bad = [...results].filter(([, r]) => r.fail.length > 0);
console.log(`\nrepeat-tests: ${files.length - bad.length}/${files.length} file(s) passed every run`);
for (const [f, r] of bad) console.log(`  ${r.pass}/${opts.runs}  ${f}`);
process.exit(bad.length > 0 ? 1 : 0);
