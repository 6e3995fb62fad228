// `qmpkit replay` as a user runs it: a qmp-shell session recorded with `qmpkit launch --qmp-log`
// against real QEMU replays to the same shell input with the same output, byte for byte; a changed
// command is reported on both sides; --once gives the verdict; bad recordings are usage errors.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { QEMU_BINARY, requireQemu } from '../helpers/qemu.js';
import { CliProcess, QMPKIT, qmpkit, qmpShell } from './helpers/run-cli.js';

const SHELL_INPUT = 'query-status\nstop\nquery-status\ncont\ndevice_del id=nic0\nquery-name\nquit\n';

test('a shell session recorded with launch --qmp-log replays to qmp-shell with identical output', {
  timeout: 120_000,
}, async (t) => {
  if (!requireQemu(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-replay-cli-'));
  let replay: CliProcess | undefined;
  try {
    const log = join(dir, 'session.jsonl');
    const recorded = await qmpkit(
      ['launch', '--shell', '--qmp-log', log, '--', QEMU_BINARY, '-machine', 'none', '-nodefaults', '-display', 'none'],
      { input: SHELL_INPUT, timeoutMs: 60_000 },
    );
    assert.equal(recorded.code, 0, recorded.stderr);
    assert.match(recorded.stdout, /"event": "STOP"/);
    assert.match(recorded.stdout, /"class": "DeviceNotFound"/);

    const socket = join(dir, 'replay.sock');
    replay = new CliProcess(QMPKIT, ['replay', log, '--socket', socket, '--once']);
    await replay.waitFor('stderr', `qmpkit replay: serving ${log} (9 requests) on unix:${socket}`);
    const replayed = await qmpShell([socket], { input: SHELL_INPUT });
    assert.equal(replayed.code, 0, replayed.stderr);
    // QEMU's bytes, event timestamps included.
    assert.equal(replayed.stdout, recorded.stdout);
    const done = await replay.done;
    // The launcher's own `quit` at the end is in the recording too; the shell had already quit.
    assert.match(done.stderr, /sent 8 of 9 recorded requests, 0 mismatched\n$/);
    assert.equal(done.code, 1);
  } finally {
    replay?.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});

const RECORDING = [
  {
    direction: 'in',
    message: { QMP: { version: { qemu: { micro: 2, minor: 2, major: 7 }, package: 'x' }, capabilities: ['oob'] } },
  },
  { direction: 'out', message: { execute: 'qmp_capabilities', arguments: { enable: ['oob'] }, id: 1 } },
  { direction: 'in', message: { return: {}, id: 1 } },
  { direction: 'out', message: { execute: 'query-status', id: 1 } },
  { direction: 'in', message: { return: { status: 'paused', singlestep: false, running: false }, id: 1 } },
]
  .map((l) => `${JSON.stringify({ time: '2026-01-01T00:00:00.000Z', ...l })}\n`)
  .join('');

test('--once: 0 when the client sent the recording, 1 and a line on stderr for a changed request', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-replay-cli-'));
  let replay: CliProcess | undefined;
  try {
    const file = join(dir, 'r.jsonl');
    writeFileSync(file, RECORDING);
    const socket = join(dir, 'r.sock');
    replay = new CliProcess(QMPKIT, ['replay', file, '--socket', socket, '--once', '--ignore-ids']);
    await replay.waitFor('stderr', 'qmpkit replay: serving');
    const ok = await qmpkit(['exec', socket, 'query-status']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout), { status: 'paused', singlestep: false, running: false });
    let done = await replay.done;
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stderr, /sent 1 of 1 recorded requests, 0 mismatched\n$/);

    replay = new CliProcess(QMPKIT, ['replay', file, '--socket', socket, '--once']);
    await replay.waitFor('stderr', 'qmpkit replay: serving');
    const changed = await qmpkit(['exec', socket, 'stop']);
    assert.equal(changed.code, 1);
    const desc = `replay: request 1 differs from ${file} line 4 at execute: expected "query-status", got "stop"`;
    assert.ok(changed.stderr.includes(`GenericError: ${desc}`), changed.stderr);
    done = await replay.done;
    assert.equal(done.code, 1);
    assert.ok(done.stderr.includes(`#1: ${desc}`), done.stderr);
    assert.match(done.stderr, /sent 0 of 1 recorded requests, 1 mismatched\n$/);
  } finally {
    replay?.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('usage errors: no address, no file, a file that is not a recording (exit 2, file and line named)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-replay-cli-'));
  try {
    const file = join(dir, 'bad.jsonl');
    writeFileSync(file, `${RECORDING.split('\n')[0]}\nnot json\n`);
    const socket = join(dir, 'r.sock');
    const cases: Array<[string[], RegExp]> = [
      [['replay', file], /give --socket PATH or --listen ADDRESS/],
      [['replay', '--socket', socket], /missing FILE/],
      [['replay', file, '--socket', socket], new RegExp(`^qmpkit replay: ${file}:2: not JSON`)],
      [['replay', join(dir, 'none.jsonl'), '--socket', socket], /cannot read the recording: ENOENT/],
      [['replay', file, '--socket', socket, '--max-recording-bytes', '10'], /more than maxRecordingBytes \(10\)/],
    ];
    for (const [args, message] of cases) {
      const r = await qmpkit(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    const help = await qmpkit(['replay', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: qmpkit replay FILE/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
