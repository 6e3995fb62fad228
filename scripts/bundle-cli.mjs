// Bundles the command-line programs (dist/src/cli/, as compiled by tsc) with esbuild into CommonJS
// files in dist/src/bin/, loaded by Node's synchronous CommonJS loader rather than forty ES modules
// through the asynchronous one:
//
//   qmpkit.cjs, qmp-shell.cjs     the two programs: argv dispatch, help and version, nothing more
//   qmpkit-<command>.cjs          one subcommand (dist/src/cli/commands/<command>.js) with every
//                                 module it imports statically, required when that subcommand runs
//   qmpkit-<command>.<name>.cjs   what that subcommand reaches only through import(), required when
//                                 the import() runs
//
// A one-shot `qmpkit exec SOCK query-status` thus compiles the client, the wire codec and exec, not
// the simulator, proxy, code generator or shell the other subcommands bring, nor exec's own lazy
// parts (the key=value parser, the schema). Keeping those in other files has a second gain: esbuild
// wraps each module an import() can reach in a lazy initialiser, whose body V8 then parses twice;
// with no import() target left inside, the file's modules run as plain top-level code.
//
// Within one subcommand each module exists once, so its classes and errors keep one identity:
// esbuild first splits the subcommand into ES module chunks at each import(), then the chunks its
// entry imports statically are bundled into qmpkit-<command>.cjs, which also exports the namespaces
// the lazily required files import from them. Two subcommands never run in one process, so their
// bundles may each hold a copy of a module.
//
// The folder sits at the same depth as dist/src/cli, so paths the modules resolve from
// import.meta.url (package.json, data/, the fd-passing addon) stay right. The library itself is not
// bundled: `import 'qmpkit'` loads dist/src as compiled.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { posix, relative, sep } from 'node:path';
import { build } from 'esbuild';

const outdir = 'dist/src/bin';
/** The export of qmpkit-<command>.cjs mapping a chunk's name to its namespace. */
const CHUNKS = '__qmpkitChunks';
/** Where the first pass's chunks live in memory (never on disk). */
const VIRTUAL = 'split';

const cjs = {
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // Node's own modules stay requires; there is nothing else outside the package to leave out.
  packages: 'external',
  // An import() of a file left out becomes a require inside a promise: the synchronous loader still.
  supported: { 'dynamic-import': false },
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
 * of the subcommand's own bundle, and notes each command met.
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

/**
 * Serves one subcommand's first-pass chunks from memory to a second-pass build: a chunk in `inline`
 * is bundled in, one the entry bundle holds is taken from its `__qmpkitChunks`, any other is a
 * require of its own file.
 */
function chunksFromMemory(split, inline) {
  return {
    name: 'chunks-from-memory',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === 'entry-point') return { path: args.path, namespace: 'chunk' };
        if (args.namespace === 'held') return { path: args.path, external: true };
        if (args.namespace !== 'chunk' || !/^\.\.?\//.test(args.path)) return undefined;
        const path = posix.join(posix.dirname(args.importer), args.path);
        if (!split.files.has(path)) throw new Error(`bundle-cli: ${args.importer} imports ${args.path}: no such chunk`);
        if (inline.has(path)) return { path, namespace: 'chunk' };
        if (split.entryHolds.has(path)) return { path, namespace: 'held' };
        return { path: `./${split.fileName(path)}`, external: true };
      });
      b.onLoad({ filter: /.*/, namespace: 'chunk' }, (args) => ({
        contents: split.files.get(args.path),
        loader: 'js',
      }));
      b.onLoad({ filter: /.*/, namespace: 'held' }, (args) => ({
        contents: `module.exports = require("./${split.fileName(split.entry)}").${CHUNKS}[${JSON.stringify(split.key(args.path))}];`,
        loader: 'js',
      }));
    },
  };
}

/** Pass 1: one subcommand as ES module chunks, split at each import(), kept in memory. */
async function splitCommand(command) {
  const result = await build({
    entryPoints: { entry: `dist/src/cli/commands/${command}.js` },
    outdir: VIRTUAL,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    define: { 'import.meta.url': '__qmpkitFileUrl' },
    write: false,
    metafile: true,
    logLevel: 'warning',
  });
  // Keyed by the '/'-separated path under the working directory, as the metafile names them.
  const files = new Map(result.outputFiles.map((f) => [relative('.', f.path).split(sep).join('/'), f.text]));
  const importsOf = (path) => (result.metafile.outputs[path]?.imports ?? []).filter((i) => !i.external);
  const entry = `${VIRTUAL}/entry.js`;
  // The chunks the entry needs at once, all bundled into qmpkit-<command>.cjs.
  const inline = new Set([entry]);
  for (const path of inline) {
    for (const i of importsOf(path)) if (i.kind !== 'dynamic-import') inline.add(i.path);
  }
  const lazy = [...files.keys()].filter((path) => !inline.has(path));
  // Of those, the ones a lazily required file imports: the entry bundle hands them over.
  const entryHolds = new Set(lazy.flatMap((path) => importsOf(path).map((i) => i.path)).filter((p) => inline.has(p)));
  const key = (path) => posix.basename(path, '.js');
  const fileName = (path) =>
    path === entry ? `qmpkit-${command}.cjs` : `qmpkit-${command}.${key(path).replace(/[^\w-]/g, '-')}.cjs`;
  return { files, entry, inline, lazy, entryHolds, key, fileName };
}

/** Pass 2: qmpkit-<command>.cjs and the files it requires lazily. */
async function bundleCommand(command) {
  const split = await splitCommand(command);
  const held = [...split.entryHolds];
  const top = `${VIRTUAL}/top.js`;
  split.files.set(
    top,
    [
      `export * from "./${posix.basename(split.entry)}";`,
      ...held.map((path, n) => `import * as c${n} from "./${posix.relative(VIRTUAL, path)}";`),
      `export const ${CHUNKS} = {${held.map((path, n) => `${JSON.stringify(split.key(path))}: c${n}`).join(', ')}};`,
    ].join('\n'),
  );
  await build({
    ...cjs,
    entryPoints: [top],
    outfile: `${outdir}/${split.fileName(split.entry)}`,
    plugins: [chunksFromMemory(split, new Set([top, ...split.inline]))],
  });
  for (const path of split.lazy) {
    await build({
      ...cjs,
      entryPoints: [path],
      outfile: `${outdir}/${split.fileName(path)}`,
      plugins: [chunksFromMemory(split, new Set([path]))],
    });
  }
}

rmSync(outdir, { recursive: true, force: true });
const commands = new Set();
for (const name of ['qmpkit', 'qmp-shell']) {
  await build({
    ...cjs,
    entryPoints: [`dist/src/cli/${name}.js`],
    outfile: `${outdir}/${name}.cjs`,
    plugins: [commandsApart(commands)],
  });
}
for (const command of commands) await bundleCommand(command);

// Every file a bundle requires by name must have been written: a miss would only show when that
// subcommand or lazy path runs.
const written = new Set(readdirSync(outdir));
for (const file of written) {
  for (const [, name] of readFileSync(`${outdir}/${file}`, 'utf8').matchAll(/require\("\.\/([^"]+)"\)/g)) {
    if (!written.has(name)) throw new Error(`bundle-cli: ${file} requires ./${name}, which was not written`);
  }
}
