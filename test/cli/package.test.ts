// The package as a user receives it: `npm pack` holds the compiled library, the binaries, the data,
// the docs and the licence, and nothing else; installed from the tarball into a fresh project (no
// network: qmpkit has no runtime dependencies), `npx qmpkit` and `npx qmp-shell` work and the
// library imports.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { loadFdAddon } from '../../src/transport/fd-addon.js';
import { PROJECT_ROOT } from '../helpers/golden.js';

const run = promisify(execFile);
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const NPX = process.platform === 'win32' ? 'npx.cmd' : 'npx';

interface PackEntry {
  readonly filename: string;
  readonly files: readonly { readonly path: string }[];
}

describe('the packed package', { concurrency: false }, () => {
  let dir = '';
  let tarball = '';
  let files: string[] = [];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qmpkit-pack-'));
    // The test suite has just built dist/; prepack would rebuild it under the other tests' feet.
    const { stdout } = await run(NPM, ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
      cwd: PROJECT_ROOT,
      maxBuffer: 16 * 1024 * 1024,
    });
    const [entry] = JSON.parse(stdout) as PackEntry[];
    assert.ok(entry !== undefined);
    tarball = join(dir, entry.filename);
    files = entry.files.map((f) => f.path).sort();
  });
  after(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  test('holds the library, both binaries, types, data, docs and licence', () => {
    for (const f of [
      'package.json',
      'README.md',
      'LICENSE',
      'dist/src/index.js',
      'dist/src/index.d.ts',
      'dist/src/cli/qmpkit.js',
      'dist/src/cli/qmp-shell.js',
      'dist/src/bin/qmpkit.cjs',
      'dist/src/bin/qmp-shell.cjs',
      // Each subcommand is its own bundle, required by the two above when it runs.
      'dist/src/bin/qmpkit-exec.cjs',
      'dist/src/bin/qmpkit-shell.cjs',
      'dist/src/bin/qmpkit-sim.cjs',
      'dist/src/simulator/index.js',
      'dist/src/qapi/7.2/index.d.ts',
      'dist/src/qga/index.d.ts',
      'data/qga/qapi-schema.json',
      'dist/src/qapi/10.2/index.d.ts',
      'dist/src/qapi/index.d.ts',
      'data/qmp-schema-7.2.json',
      'docs/cli.md',
      'native/fdpass/binding.gyp',
      'native/fdpass/fdpass.c',
      'native/fdpass/fdpass.h',
      'native/fdpass/fdreader.c',
      'native/fdpass/build.mjs',
    ]) {
      assert.ok(files.includes(f), `${f} is missing from the tarball`);
    }
  });

  test('holds no tests, no TypeScript sources, no source maps and nothing outside its parts', () => {
    const allowed =
      /^(package\.json|README\.md|LICENSE|dist\/src\/.+\.(js|d\.ts)|dist\/src\/bin\/[^/]+\.cjs|data\/.+\.(json|md)|docs\/.+\.(md|ts)|native\/fdpass\/(binding\.gyp|fdpass\.[ch]|fdreader\.c|build\.mjs))$/;
    assert.deepEqual(
      files.filter((f) => !allowed.test(f)),
      [],
    );
    assert.deepEqual(
      files.filter((f) => f.endsWith('.map')),
      [],
    );
  });

  test('package.json names its licence, repository, homepage and issue tracker, and builds before packing', () => {
    const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(pkg['license'], 'MIT');
    assert.match(JSON.stringify(pkg['repository']), /github\.com\/qmpkit\/qmpkit/);
    assert.match(String(pkg['homepage']), /^https:\/\//);
    assert.match(JSON.stringify(pkg['bugs']), /^\{"url":"https:\/\/.+\/issues"\}$/);
    assert.match(String((pkg['scripts'] as Record<string, unknown>)['prepack']), /tsc/);
    assert.match(
      readFileSync(join(PROJECT_ROOT, 'LICENSE'), 'utf8'),
      /^MIT License\n\nCopyright \(c\) 2026 the qmpkit contributors\n/,
    );
  });

  test('installed into a fresh project, npx qmpkit and npx qmp-shell work and the library imports', async () => {
    const consumer = join(dir, 'consumer');
    mkdirSync(consumer);
    writeFileSync(join(consumer, 'package.json'), '{"name": "consumer", "private": true, "type": "module"}\n');
    const env = { ...process.env, npm_config_update_notifier: 'false' };
    await run(NPM, ['install', '--offline', '--no-audit', '--no-fund', tarball], { cwd: consumer, env });
    const qmpkit = await run(NPX, ['--offline', 'qmpkit', '--help'], { cwd: consumer, env });
    assert.match(qmpkit.stdout, /^usage: qmpkit COMMAND/);
    const version = await run(NPX, ['--offline', 'qmpkit', '--version'], { cwd: consumer, env });
    assert.equal(
      version.stdout,
      `qmpkit ${(JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version}\n`,
    );
    const shell = await run(NPX, ['--offline', 'qmp-shell', '--help'], { cwd: consumer, env });
    assert.match(shell.stdout, /^usage: qmp-shell /);
    const exec = await run(NPX, ['--offline', 'qmpkit', 'exec', '--help'], { cwd: consumer, env });
    assert.match(exec.stdout, /^usage: qmpkit exec ADDRESS COMMAND/);
    const script =
      "import { QmpClient } from 'qmpkit'; import { startSimulator } from 'qmpkit/simulator';" +
      "import { QgaClient } from 'qmpkit/qga'; if (typeof QgaClient.connect !== 'function') throw new Error('qga');" +
      "const sim = await startSimulator({ qmp: ['tcp:127.0.0.1:0,server=on,wait=off'] });" +
      "const a = sim.monitors[0]?.address; if (a?.kind !== 'tcp') throw new Error('no tcp');" +
      "const qmp = await QmpClient.connect(a.host + ':' + a.port, { timeoutMs: 10000 });" +
      "console.log((await qmp.execute('query-status')).status); await qmp.close(); await sim.close();";
    const lib = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: consumer, env });
    assert.equal(lib.stdout, 'running\n');
    // The install step built the fd-passing addon wherever this checkout could build it.
    const fds = await run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "import { fdPassingSupport } from 'qmpkit'; console.log(fdPassingSupport().available);",
      ],
      { cwd: consumer, env },
    );
    assert.equal(fds.stdout, `${String(loadFdAddon().ok)}\n`);
  });
});
