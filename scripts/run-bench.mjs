// Runs every compiled benchmark (dist/bench/*.bench.js) in a fresh node process, one after another,
// so one case's JIT state and garbage cannot touch the next. Each prints JSON lines on stdout, which
// pass straight through. `node scripts/run-bench.mjs decoder client` runs only the files whose names
// contain one of those words. Exits non-zero when a benchmark fails or none matched.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../dist/bench/', import.meta.url));
if (!existsSync(dir)) {
  console.error('run-bench: dist/bench is missing; run `npm run build` first');
  process.exit(2);
}
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.js'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
if (files.length === 0) {
  console.error(`run-bench: no benchmark in dist/bench matches ${only.join(', ') || '*.bench.js'}`);
  process.exit(2);
}
let failed = 0;
for (const f of files) {
  const r = spawnSync(process.execPath, [join(dir, f)], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) {
    failed++;
    console.error(`run-bench: ${f} exited with ${r.status ?? r.signal}`);
  }
}
process.exit(failed === 0 ? 0 : 1);
