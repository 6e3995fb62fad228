// Bundles the two command-line programs (dist/src/cli/qmpkit.js and qmp-shell.js, as compiled by tsc)
// into one CommonJS file each in dist/src/bin/. A one-shot `qmpkit exec` then reads and compiles one
// file with Node's synchronous CommonJS loader instead of forty ES modules through the asynchronous
// one, which was most of its start-up cost beyond Node's own. The folder sits at the same depth as
// dist/src/cli, so paths the modules resolve from import.meta.url (package.json, data/, the
// fd-passing addon) stay right. The library itself is not bundled: `import 'qmpkit'` loads dist/src
// as compiled.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

const outdir = 'dist/src/bin';
rmSync(outdir, { recursive: true, force: true });
for (const name of ['qmpkit', 'qmp-shell']) {
  await build({
    entryPoints: [`dist/src/cli/${name}.js`],
    outfile: `${outdir}/${name}.cjs`,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    // Node's own modules stay requires; there is nothing else outside the package to leave out.
    packages: 'external',
    // CommonJS has no import.meta: each file's own URL stands in for it.
    define: { 'import.meta.url': '__qmpkitFileUrl' },
    banner: { js: 'const __qmpkitFileUrl = require("node:url").pathToFileURL(__filename).href;' },
    // Less text for V8 to read at each start; names stay, so stack traces still read.
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: 'warning',
  });
}
