// The package's install step: builds the optional fd-passing addon with node-gyp. Without a compiler
// (or python3, make) it prints one line and succeeds: only fd passing is then unavailable.
// QMPKIT_NO_NATIVE=1 skips the build.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const strict = process.argv.includes('--strict');
if (process.env.QMPKIT_NO_NATIVE === '1' && !strict) {
  console.log('qmpkit: QMPKIT_NO_NATIVE=1, fd-passing addon not built');
  process.exit(0);
}
// npm names its bundled node-gyp in lifecycle scripts; outside them, look beside npm itself.
const prefix = dirname(dirname(process.execPath));
// npm's lifecycle PATH holds .../npm/node_modules/@npmcli/run-script/lib/node-gyp-bin.
const shimDir = (process.env.PATH ?? '').split(':').find((d) => d.endsWith('node-gyp-bin'));
const candidates = [
  process.env.npm_config_node_gyp,
  shimDir && join(shimDir, '..', '..', '..', '..', 'node-gyp', 'bin', 'node-gyp.js'),
  join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  join(prefix, 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
].filter((p) => p !== undefined && p !== '' && existsSync(p));
const gyp = candidates[0];
if (gyp === undefined) finish('node-gyp not found (it comes with npm)');
// Node's own headers when installed beside it: no download needed.
const args = [gyp, 'rebuild'];
if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
const r = spawnSync(process.execPath, args, { cwd: here, stdio: strict ? 'inherit' : 'pipe', encoding: 'utf8' });
if (r.status !== 0) {
  const out = `${r.stderr ?? ''}${r.stdout ?? ''}`.trim().split('\n');
  const why = out.find((l) => /not found|No such file|error:/i.test(l)) ?? out.at(-1) ?? 'node-gyp failed';
  finish(`the build failed (${why.replace(/^gyp ERR! /, '').trim()})`);
}
console.log('qmpkit: fd-passing addon built');

function finish(reason) {
  const line = `qmpkit: fd-passing addon not built: ${reason}; everything else works, fd passing reports QMP_ERR_FD_UNAVAILABLE`;
  if (strict) {
    console.error(line);
    process.exit(1);
  }
  console.log(line);
  process.exit(0);
}
