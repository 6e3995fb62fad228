// Bundles the command-line programs (dist/src/cli/, as compiled by tsc) with esbuild into CommonJS
// files in dist/src/bin/, loaded by Node's synchronous CommonJS loader rather than forty ES modules
// through the asynchronous one:
//
//   qmpkit.cjs, qmp-shell.cjs   the two programs: argv dispatch, help and version, nothing more
//   qmpkit-<command>.cjs        one subcommand each (dist/src/cli/commands/<command>.js and all it
//                               imports), required only when that subcommand runs
//
// A one-shot `qmpkit exec` thus reads and compiles the client, the wire codec and exec, not the
// simulator, proxy, code generator and shell every other subcommand brings. Modules two subcommands
// share are copied into both bundles; no object crosses from one bundle to another but the runner
// function and the exit code it resolves with, so the copies never meet.
//
// The folder sits at the same depth as dist/src/cli, so paths the modules resolve from
// import.meta.url (package.json, data/, the fd-passing addon) stay right. The library itself is not
// bundled: `import 'qmpkit'` loads dist/src as compiled.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

const outdir = 'dist/src/bin';

const common = {
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
};

/**
 * Leaves a program's imports of dist/src/cli/commands/<command>.js out of its bundle, as a require
 * of the subcommand's own bundle, and notes each command met. With dynamic import() marked
 * unsupported, esbuild writes `await import('./commands/exec.js')` as a require inside a promise,
 * which keeps the lazy load on the synchronous loader.
 */
function commandsApart(commands) {
  return {
    name: 'commands-apart',
    setup(b) {
      b.onResolve({ filter: /^\.\/commands\/[a-z][a-z-]*\.js$/ }, (args) => {
        if (!/[/\\]dist[/\\]src[/\\]cli$/.test(args.resolveDir)) return undefined;
        const command = args.path.slice('./commands/'.length, -'.js'.length);
        commands.add(command);
        return { path: `./qmpkit-${command}.cjs`, external: true };
      });
    },
  };
}

rmSync(outdir, { recursive: true, force: true });
const commands = new Set();
for (const name of ['qmpkit', 'qmp-shell']) {
  await build({
    ...common,
    entryPoints: [`dist/src/cli/${name}.js`],
    outfile: `${outdir}/${name}.cjs`,
    supported: { 'dynamic-import': false },
    plugins: [commandsApart(commands)],
  });
}
for (const command of commands) {
  await build({
    ...common,
    entryPoints: [`dist/src/cli/commands/${command}.js`],
    outfile: `${outdir}/qmpkit-${command}.cjs`,
  });
}
