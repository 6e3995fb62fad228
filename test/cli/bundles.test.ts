// The binaries as scripts/bundle-cli.mjs splits them: a subcommand requires its own bundle and
// nothing of the others', and what it reaches only through import() when it goes there, so a
// one-shot `qmpkit exec` compiles as little as it can. Checked by the files Node's CommonJS loader
// holds when the process ends (never by time), against the simulator in this process.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { type QmpSimulator, startSimulator } from '../../src/simulator/index.js';
import { QMP_SHELL, QMPKIT } from './helpers/run-cli.js';

interface LoadedRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The files of dist/src/bin/ the process required, sorted. */
  readonly files: readonly string[];
}

// Runs a bin file as `node BIN ARGS...` would, then writes the CommonJS loader's files to fd 3.
const PRELUDE = `
const bin = process.argv[1];
process.on('exit', () => require('node:fs').writeSync(3, JSON.stringify(Object.keys(require.cache))));
require(bin);
`;

function runLoaded(bin: string, args: readonly string[]): Promise<LoadedRun> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['-e', PRELUDE, bin, ...args], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    const out = { stdout: '', stderr: '', fd3: '' };
    const collect = (stream: unknown, key: keyof typeof out): void => {
      if (!(stream instanceof Readable)) throw new Error(`no pipe for ${key}`);
      stream.setEncoding('utf8').on('data', (d: string) => {
        out[key] += d;
      });
    };
    collect(p.stdout, 'stdout');
    collect(p.stderr, 'stderr');
    collect(p.stdio[3], 'fd3');
    const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      const all = out.fd3 === '' ? [] : (JSON.parse(out.fd3) as string[]);
      const files = all.filter((f) => dirname(f) === dirname(QMPKIT)).map((f) => basename(f));
      resolve({ code, stdout: out.stdout, stderr: out.stderr, files: files.sort() });
    });
  });
}

describe('the split bundles', { concurrency: false }, () => {
  let sim: QmpSimulator;
  let dir = '';
  let sock = '';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qmpkit-bundles-'));
    sock = join(dir, 'qmp.sock');
    sim = await startSimulator({ qmp: [`unix:${sock},server=on,wait=off`], stderr: process.stderr });
  });
  after(async () => {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a one-shot exec of a bare command requires the dispatcher and the exec bundle, nothing else', async () => {
    const r = await runLoaded(QMPKIT, ['exec', sock, 'query-status']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { status: 'running', singlestep: false, running: true });
    assert.deepEqual(r.files, ['qmpkit-exec.cjs', 'qmpkit.cjs']);
  });

  test('--version requires the dispatcher alone; qmp-shell requires the shell bundle', async () => {
    const v = await runLoaded(QMPKIT, ['--version']);
    assert.equal(v.code, 0, v.stderr);
    assert.deepEqual(v.files, ['qmpkit.cjs']);
    const s = await runLoaded(QMP_SHELL, ['--help']);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /^usage: qmp-shell /);
    assert.deepEqual(s.files, ['qmp-shell.cjs', 'qmpkit-shell.cjs']);
  });

  test('exec key=value requires the parser and the schema lazily, from its own files only', async () => {
    // id=1 reaches QEMU as the string the schema says it is: DeviceNotFound, not a type error.
    const r = await runLoaded(QMPKIT, ['exec', sock, 'eject', 'id=1']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "qmpkit exec: DeviceNotFound: Device '1' not found\n");
    assert.ok(
      r.files.some((f) => /^qmpkit-exec\.shell-line-parser-/.test(f)),
      r.files.join(' '),
    );
    assert.ok(
      r.files.some((f) => /^qmpkit-exec\.shell-schema-/.test(f)),
      r.files.join(' '),
    );
    // qmpkit-exec.cjs and qmpkit-exec.<lazy part>.cjs: nothing of another subcommand.
    assert.deepEqual(
      r.files.filter((f) => f !== 'qmpkit.cjs' && !f.startsWith('qmpkit-exec.')),
      [],
    );
  });

  test('an error thrown in a lazily required file is still a QmpError to exec (exit 2, not 70)', async () => {
    const r = await runLoaded(QMPKIT, ['exec', sock, 'query-status', '--args', '{bad']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^qmpkit exec: Invalid JSON value '\{bad'/);
    assert.ok(
      r.files.some((f) => /^qmpkit-exec\.loose-json-/.test(f)),
      r.files.join(' '),
    );
  });
});
