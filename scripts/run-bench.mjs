// Runs every compiled benchmark (dist/bench/*.bench.js) in a fresh node process, one after another.
// `node scripts/run-bench.mjs decoder client` runs only the files whose names contain those words.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = 'dist/bench';
if (!existsSync(dir)) {
  console.error('run-bench: dist/bench is missing; run `npm run build` first');
  process.exit(2);
}
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.js'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
let failed = 0;
for (const f of files) {
  const r = spawnSync(process.execPath, [join(dir, f)], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.error(`run-bench: ${f} exited with ${r.status ?? r.signal}`);
  }
}
process.exit(failed === 0 ? 0 : 1);
