// Runs the compiled tests with node's own runner. `node scripts/run-tests.mjs [folder ...]` limits the
// run to some of test/'s folders (unit, client, server, integration, conformance, cli).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = 'dist/test';
const only = process.argv.slice(2);
function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...collect(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}
if (!existsSync(root)) {
  console.error('run-tests: dist/test is missing; run `npm run build` first');
  process.exit(2);
}
let files = collect(root).sort();
if (only.length > 0) files = files.filter((f) => only.some((o) => f.startsWith(join(root, o))));
const concurrency = process.env.QMPKIT_TEST_CONCURRENCY ?? '2';
const r = spawnSync(
  process.execPath,
  // A per-test ceiling: a hung test fails in minutes instead of holding CI until its deadline.
  // Strict unhandled rejections: a promise the library leaves rejected with no handler fails the run,
  // as it would kill a user's process.
  [
    '--unhandled-rejections=strict',
    '--test',
    `--test-concurrency=${concurrency}`,
    '--test-timeout=240000',
    '--test-reporter=spec',
    ...files,
  ],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
