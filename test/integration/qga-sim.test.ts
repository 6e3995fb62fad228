// The same QgaClient cases as against the real qemu-ga (qga-agent.test.ts), against the simulated
// agent of `qmpkit sim ... -device virtserialport,chardev=qga0,name=org.qemu.guest_agent.0`.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { QmpClient } from '../../src/client/index.js';
import type { QmpCommandError } from '../../src/errors/index.js';
import { QgaClient } from '../../src/qga/index.js';
import { type QmpSimulator, startSimulator } from '../../src/simulator/index.js';
import { QGA_BLOCKED_COMMANDS } from '../helpers/qga.js';
import { qgaClientCases, rejectsWith } from '../helpers/qga-cases.js';

/** The command line that gives the simulated VM a guest agent on `socketPath`. */
export function guestAgentArgv(socketPath: string): string[] {
  return [
    '-chardev',
    `socket,id=qga0,path=${socketPath},server=on,wait=off`,
    '-device',
    'virtio-serial',
    '-device',
    'virtserialport,chardev=qga0,name=org.qemu.guest_agent.0',
  ];
}

qgaClientCases('simulated agent', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-qga-sim-'));
  const socketPath = join(dir, 'qga.sock');
  // The real agent's block list, so that both answer the same.
  const sim = await startSimulator({
    argv: [...guestAgentArgv(socketPath), '-sim-qga-block', QGA_BLOCKED_COMMANDS.join(',')],
  });
  const agent = sim.guestAgent;
  if (agent === undefined) throw new Error('no guest agent');
  return {
    socketPath,
    pause: () => agent.setFaults({ notRunning: true }),
    resume: () => agent.setFaults({ notRunning: false }),
    kill: () => void agent.close(),
    stop: async () => {
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

/** A simulator with a guest agent (and a QMP monitor), for one test. */
async function withSim(
  extra: readonly string[],
  body: (sim: QmpSimulator, qgaPath: string, qmpPath: string) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-qga-sim-'));
  const qgaPath = join(dir, 'qga.sock');
  const qmpPath = join(dir, 'qmp.sock');
  const sim = await startSimulator({
    argv: [...guestAgentArgv(qgaPath), '-qmp', `unix:${qmpPath},server=on,wait=off`, ...extra],
  });
  try {
    await body(sim, qgaPath, qmpPath);
  } finally {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('simulated agent: files on the in-memory file system, opened, written, sought, read and closed', () =>
  withSim([], async (_sim, qgaPath) => {
    const qga = await QgaClient.connect(qgaPath, { timeoutMs: 5000, commandTimeoutMs: 5000 });
    try {
      const h = await qga.execute('guest-file-open', { path: '/tmp/note', mode: 'w+' });
      assert.equal(h, 1000);
      const w = await qga.execute('guest-file-write', {
        handle: h,
        'buf-b64': Buffer.from('hello').toString('base64'),
      });
      assert.deepEqual(w, { count: 5, eof: false });
      assert.deepEqual(await qga.execute('guest-file-seek', { handle: h, offset: 1, whence: 'set' }), {
        position: 1,
        eof: false,
      });
      const r = await qga.execute('guest-file-read', { handle: h, count: 10 });
      assert.equal(Buffer.from(r['buf-b64'], 'base64').toString(), 'ello');
      assert.equal(r.eof, true);
      assert.deepEqual(await qga.execute('guest-file-flush', { handle: h }), {});
      assert.deepEqual(await qga.execute('guest-file-close', { handle: h }), {});
      const gone = await rejectsWith(qga.execute('guest-file-read', { handle: h }), 'QMP_ERR_COMMAND');
      assert.equal((gone as QmpCommandError).desc, "handle '1000' has not been found");
      const missing = await rejectsWith(qga.execute('guest-file-open', { path: '/nope' }), 'QMP_ERR_COMMAND');
      assert.equal(
        (missing as QmpCommandError).desc,
        "failed to open file '/nope' (mode: 'r'): No such file or directory",
      );
    } finally {
      await qga.close();
    }
  }));

test('simulated agent: exec runs built-in programs only, with output, exit codes and stdin', () =>
  withSim([], async (_sim, qgaPath) => {
    const qga = await QgaClient.connect(qgaPath, { timeoutMs: 5000, commandTimeoutMs: 5000 });
    try {
      const echo = await qga.exec('/bin/echo', { args: ['hello', 'guest'] });
      assert.equal(echo.exitCode, 0);
      assert.equal(echo.stdout, 'hello guest\n');
      assert.equal((await qga.exec('false')).exitCode, 1);
      const cat = await qga.exec('cat', { args: ['/etc/hostname', '/nope'] });
      assert.equal(cat.stdout, 'sim\n');
      assert.equal(cat.stderr, 'cat: /nope: No such file or directory\n');
      assert.equal(cat.exitCode, 1);
      assert.equal((await qga.exec('cat', { input: 'from stdin' })).stdout, 'from stdin');
      const sleep = await qga.exec('sleep', { args: ['0.05'], pollIntervalMs: 10 });
      assert.equal(sleep.exitCode, 0);
      const none = await rejectsWith(qga.exec('/usr/bin/rm', { args: ['-rf', '/'] }), 'QMP_ERR_COMMAND');
      assert.match((none as QmpCommandError).desc, /Failed to execute child process .\/usr\/bin\/rm. \(No such file/);
    } finally {
      await qga.close();
    }
  }));

test('simulated agent: guest-shutdown emits SHUTDOWN on the QMP monitor and powers the VM off', () =>
  withSim([], async (sim, qgaPath, qmpPath) => {
    const qmp = await QmpClient.connect(qmpPath, { timeoutMs: 5000 });
    const qga = await QgaClient.connect(qgaPath, { timeoutMs: 5000 });
    const shutdown = qmp.waitForEvent('SHUTDOWN', { timeoutMs: 5000 });
    assert.equal(await qga.execute('guest-shutdown'), undefined);
    const ev = await shutdown;
    assert.deepEqual(ev.data, { guest: true, reason: 'guest-shutdown' });
    assert.equal(await sim.exited, 'guest-shutdown');
    assert.equal((await qga.closed)?.code, 'QMP_ERR_DISCONNECTED');
    await qmp.close();
  }));

test('simulated agent: with -no-shutdown the VM stays, stopped, and the agent no longer answers', () =>
  withSim(['-no-shutdown'], async (sim, qgaPath, qmpPath) => {
    const qmp = await QmpClient.connect(qmpPath, { timeoutMs: 5000 });
    const qga = await QgaClient.connect(qgaPath, { timeoutMs: 5000 });
    const stop = qmp.waitForEvent('STOP', { timeoutMs: 5000 });
    await qga.execute('guest-shutdown', { mode: 'halt' });
    await stop;
    assert.equal((await qmp.execute('query-status')).status, 'shutdown');
    await rejectsWith(qga.execute('guest-ping', undefined, { timeoutMs: 100 }), 'QMP_ERR_TIMEOUT');
    assert.equal(sim.runstate.state, 'shutdown');
    await qga.close();
    await qmp.close();
  }));

test('simulated agent: a VM started with -S has no agent answering until cont', () =>
  withSim(['-S'], async (_sim, qgaPath, qmpPath) => {
    const err = await rejectsWith(QgaClient.connect(qgaPath, { timeoutMs: 100 }), 'QMP_ERR_CONNECT_TIMEOUT');
    assert.match(err.message, /is qemu-ga running in the guest, and the VM started/);
    const qga = await QgaClient.connect(qgaPath, { syncOnConnect: false });
    const qmp = await QmpClient.connect(qmpPath, { timeoutMs: 5000 });
    const ping = qga.execute('guest-ping', undefined, { timeoutMs: 5000 });
    await qmp.execute('cont');
    assert.deepEqual(await ping, {});
    await qga.close();
    await qmp.close();
  }));

test('simulated agent: -sim-qga-fault stale,slow=MS: stale bytes on connect, slow replies; not-running', async () => {
  await withSim(['-sim-qga-fault', 'stale,slow=20'], async (sim, qgaPath) => {
    assert.deepEqual(sim.guestAgent?.faults, {
      notRunning: false,
      staleOnConnect: true,
      replyDelayMs: 20,
      blocked: [],
    });
    const qga = await QgaClient.connect(qgaPath, { timeoutMs: 5000 });
    await rejectsWith(qga.execute('guest-ping', undefined, { timeoutMs: 5 }), 'QMP_ERR_TIMEOUT');
    assert.deepEqual(await qga.execute('guest-ping', undefined, { timeoutMs: 5000 }), {});
    // Bytes nobody asked for: a client cannot tell them from an answer without a sync first.
    sim.guestAgent?.injectBytes('{"return": "stale"}\n');
    await qga.sync({ timeoutMs: 5000 });
    assert.equal(typeof (await qga.execute('guest-get-time', undefined, { timeoutMs: 5000 })), 'bigint');
    await qga.close();
  });
  await withSim(['-sim-qga-fault', 'not-running'], async (sim, qgaPath) => {
    await rejectsWith(QgaClient.connect(qgaPath, { timeoutMs: 50 }), 'QMP_ERR_CONNECT_TIMEOUT');
    sim.guestAgent?.setFaults({ notRunning: false });
    const qga = await QgaClient.connect(qgaPath, { timeoutMs: 5000 });
    assert.deepEqual(await qga.execute('guest-ping'), {});
    await qga.close();
  });
});
