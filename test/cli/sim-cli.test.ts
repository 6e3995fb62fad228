// The tools against the simulated QEMU (in this process): `npm start`'s `qmpkit start`, qmp-shell in
// a pty with an event arriving while typing, `exec` and `events` with their exit codes. The same
// against real QEMU is in shell-pty.test.ts and exec-events.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type QmpSimulator, startSimulator } from '../../src/simulator/index.js';
import { PtySession } from './helpers/pty.js';
import { CliProcess, QMP_SHELL, QMPKIT, qmpkit } from './helpers/run-cli.js';

describe('the tools against the simulator', { concurrency: false }, () => {
  let sim: QmpSimulator;
  let dir = '';
  let sock = '';
  let sock2 = '';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qmpkit-simcli-'));
    sock = join(dir, 'qmp.sock');
    sock2 = join(dir, 'qmp2.sock');
    sim = await startSimulator({
      qmp: [`unix:${sock},server=on,wait=off`, `unix:${sock2},server=on,wait=off`],
      stderr: process.stderr,
    });
  });
  after(async () => {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('exec: return value, QMP error (exit 1), HMP text', async () => {
    const r = await qmpkit(['exec', sock, 'query-status']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { status: 'running', singlestep: false, running: true });
    const e = await qmpkit(['exec', sock, 'no-such-command']);
    assert.equal(e.code, 1);
    assert.equal(e.stderr, 'qmpkit exec: CommandNotFound: The command no-such-command has not been found\n');
    const typed = await qmpkit(['exec', sock, 'eject', 'id=1']);
    assert.equal(typed.code, 1);
    assert.equal(typed.stderr, "qmpkit exec: DeviceNotFound: Device '1' not found\n");
    const h = await qmpkit(['exec', sock, '--hmp', 'info status']);
    assert.equal(h.code, 0, h.stderr);
    assert.equal(h.stdout, 'VM status: running\n');
  });

  test('events: STOP and RESUME from another monitor, --count ends with 0', async () => {
    const ev = new CliProcess(QMPKIT, ['events', sock2, '--count', '2', '-v']);
    try {
      await ev.waitFor('stderr', 'listening');
      assert.equal((await qmpkit(['exec', sock, 'stop'])).code, 0);
      assert.equal((await qmpkit(['exec', sock, 'cont'])).code, 0);
      const r = await ev.done;
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(
        r.stdout
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as { event: string }).event),
        ['STOP', 'RESUME'],
      );
    } finally {
      ev.kill();
    }
  });

  test('events: --timeout-ms before --count exits 4', async () => {
    const r = await qmpkit(['events', sock2, '--count', '1', '--timeout-ms', '200']);
    assert.equal(r.code, 4, r.stderr);
  });

  test('qmp-shell in a pty: an event arrives while typing, completion, history', async () => {
    const home = join(dir, 'home');
    const s = new PtySession([process.execPath, QMP_SHELL, sock], { env: { ...process.env, HOME: home } });
    try {
      await s.waitFor('(QEMU) ');
      assert.match(s.screen()[1] ?? '', /^Connected to QEMU 7\.2\.\d+$/);
      s.write('query-statu');
      await s.waitForScreenEnd(['(QEMU) query-statu']);
      assert.equal((await qmpkit(['exec', sock2, 'stop'])).code, 0);
      await s.waitFor('"event": "STOP"');
      await s.waitForScreenEnd(['(QEMU) query-statu']);
      s.write('\t');
      await s.waitForScreenEnd(['(QEMU) query-status']);
      s.write('\r');
      await s.waitFor('{"return": {"status": "paused", "singlestep": false, "running": false}}');
      s.write('cont\r');
      await s.waitFor('"event": "RESUME"');
      s.write('\x04');
      assert.equal(await s.exited, 0);
    } finally {
      s.kill();
    }
    assert.equal(readFileSync(join(home, '.qmp-shell_history'), 'utf8'), 'query-status\ncont\n');
  });

  test('qmpkit start ADDRESS opens the shell on that address', async () => {
    const s = new PtySession([process.execPath, QMPKIT, 'start', sock], { env: { ...process.env, HOME: dir } });
    try {
      await s.waitFor('(QEMU) ');
      s.write('query-name\r');
      await s.waitFor('{"return": {}}');
      s.write('\x04');
      assert.equal(await s.exited, 0);
    } finally {
      s.kill();
    }
  });
});

test('npm start (qmpkit start): a simulated QEMU and the shell, without QEMU installed', async () => {
  const home = mkdtempSync(join(tmpdir(), 'qmpkit-start-'));
  // The simulator runs inside the qmpkit process: nothing else is started.
  const s = new PtySession([process.execPath, QMPKIT, 'start'], { env: { ...process.env, HOME: home } });
  try {
    await s.waitFor('(QEMU) ');
    const text = s.text;
    assert.match(text, /Simulated QEMU on unix:\/.*qmp\.sock/);
    assert.match(text, /Welcome to the QMP low-level shell!\nConnected to QEMU 7\.2\.\d+/);
    s.write('query-status\r');
    await s.waitFor('{"return": {"status": "running", "singlestep": false, "running": true}}');
    s.write('quit\r');
    await s.waitFor('Connection closed by QEMU');
    assert.equal(await s.exited, 0);
  } finally {
    s.kill();
    rmSync(home, { recursive: true, force: true });
  }
});
