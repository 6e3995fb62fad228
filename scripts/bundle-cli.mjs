// Bundles the two command-line programs (dist/src/cli/qmpkit.js and qmp-shell.js, as compiled by tsc)
// into dist/src/bin/: each entry with the modules it always needs in one file, and each subcommand's
// modules in a chunk loaded when that subcommand runs. A one-shot `qmpkit exec` then reads a handful
// of files instead of forty, which is most of its start-up cost beyond Node's own. The folder sits at
// the same depth as dist/src/cli, so paths the modules resolve from import.meta.url (package.json,
// data/) stay right. The library itself is not bundled: `import 'qmpkit'` loads dist/src as compiled.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

const outdir = 'dist/src/bin';
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: ['dist/src/cli/qmpkit.js', 'dist/src/cli/qmp-shell.js'],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Node's own modules stay imports; there is nothing else outside the package to leave out.
  packages: 'external',
  // Less text for V8 to read at each start; names stay, so stack traces still read.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});
