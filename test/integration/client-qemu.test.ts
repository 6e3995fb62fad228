// The client against a real QEMU 7.2 started per test.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { QmpClient } from '../../src/client/index.js';
import { QmpCommandError, QmpConnectionError, QmpTimeoutError } from '../../src/errors/index.js';
import { PROJECT_ROOT } from '../helpers/golden.js';
import { requireQemu, startQemu } from '../helpers/qemu.js';
import { deadline } from '../helpers/strays.js';

test('negotiation, query-status, oob, 1,000 pipelined commands matched correctly', async (t) => {
  if (!requireQemu(t)) return;
  const q = await startQemu();
  try {
    const qmp = await QmpClient.connect(q.socketPath, { timeoutMs: 5000 });
    assert.equal(qmp.greeting.QMP.version.qemu.major, 7);
    assert.equal(qmp.greeting.QMP.version.qemu.minor, 2);
    assert.ok(qmp.oobEnabled);
    assert.deepEqual(await qmp.execute('query-status'), { status: 'running', singlestep: false, running: true });
    const calls = Array.from({ length: 1000 }, (_, i) =>
      i % 2 === 0
        ? qmp.execute('query-name')
        : qmp.executeRaw('human-monitor-command', { 'command-line': `print ${i}` }),
    );
    const results = await Promise.all(calls);
    for (let i = 0; i < 1000; i++) {
      if (i % 2 === 0) assert.deepEqual(results[i], {});
      else assert.equal(results[i], `0x${i.toString(16)}\r\n`);
    }
    await assert.rejects(qmp.executeRaw('no-such-command'), (e: unknown) => {
      assert.ok(e instanceof QmpCommandError);
      assert.equal(e.errorClass, 'CommandNotFound');
      assert.equal(e.desc, 'The command no-such-command has not been found');
      return true;
    });
    await assert.rejects(
      qmp.executeOob('migrate-pause'),
      (e: unknown) => e instanceof QmpCommandError && /postcopy-active/.test(e.desc),
    );
    await qmp.close();
  } finally {
    await q.stop();
  }
});

test('stop/cont events arrive, STOP before stop returns; the big-integer round trip', async (t) => {
  if (!requireQemu(t)) return;
  const q = await startQemu();
  try {
    const qmp = await QmpClient.connect(q.socketPath, { timeoutMs: 5000 });
    const stopped = qmp.waitForEvent('STOP', { timeoutMs: 5000 });
    await qmp.execute('stop');
    const ev = await stopped;
    assert.equal(ev.event, 'STOP');
    assert.ok(ev.timestamp.seconds > 1_600_000_000);
    const it = qmp.events({ names: ['RESUME'] });
    await qmp.execute('cont');
    for await (const e of it) {
      assert.equal(e.event, 'RESUME');
      break;
    }
    await qmp.execute('migrate-set-parameters', { 'max-bandwidth': 9007199254740993n });
    const params = await qmp.execute('query-migrate-parameters');
    assert.equal(params['max-bandwidth'], 9007199254740993n);
    await qmp.execute('migrate-set-parameters', { 'max-bandwidth': 18446744073709551615n });
    assert.equal((await qmp.execute('query-migrate-parameters'))['max-bandwidth'], 18446744073709551615n);
    await qmp.close();
  } finally {
    await q.stop();
  }
});

test('query-qmp-schema decodes equal to JSON.parse of the reference reply', async (t) => {
  if (!requireQemu(t)) return;
  const q = await startQemu();
  try {
    const qmp = await QmpClient.connect(q.socketPath, { timeoutMs: 5000 });
    const live = await qmp.execute('query-qmp-schema');
    const ref = JSON.parse(readFileSync(resolve(PROJECT_ROOT, 'data/qmp-schema-7.2.json'), 'utf8')) as unknown;
    const refEntries = Array.isArray(ref) ? ref : (ref as { return: unknown[] }).return;
    assert.equal(live.length, 1051);
    assert.deepEqual(live, refEntries);
    await qmp.close();
  } finally {
    await q.stop();
  }
});

test('QEMU killed with SIGKILL mid-pipeline: every call rejects promptly with QMP_ERR_DISCONNECTED', async (t) => {
  if (!requireQemu(t)) return;
  const q = await startQemu();
  try {
    const qmp = await QmpClient.connect(q.socketPath, { timeoutMs: 5000 });
    const calls = Array.from({ length: 500 }, () => qmp.execute('query-status'));
    const settled = Promise.allSettled(calls);
    await calls[0];
    q.proc.kill('SIGKILL');
    // Prompt means settled by the disconnect itself (every error says so), not by some timer:
    // a generous deadline, not a measured time.
    const results = await deadline(settled, 30_000, 'the calls outstanding when QEMU was killed');
    const rejected = results.filter((r) => r.status === 'rejected');
    assert.ok(rejected.length > 0, 'some calls were still in flight');
    for (const r of rejected) {
      const e = (r as PromiseRejectedResult).reason as unknown;
      assert.ok(e instanceof QmpConnectionError, String(e));
      assert.equal(e.code, 'QMP_ERR_DISCONNECTED');
    }
    assert.ok((await qmp.closed) instanceof QmpConnectionError);
  } finally {
    await q.stop();
  }
});

test('QEMU frozen with SIGSTOP: per-call timeouts fire; after SIGCONT the session still works', async (t) => {
  if (!requireQemu(t)) return;
  const q = await startQemu();
  try {
    const qmp = await QmpClient.connect(q.socketPath, { timeoutMs: 5000 });
    q.proc.kill('SIGSTOP');
    // The call's own 200 ms timer ends it (its error carries that timeout), within a generous deadline.
    await assert.rejects(
      deadline(qmp.execute('query-status', undefined, { timeoutMs: 200 }), 30_000, 'the timed-out call'),
      (e: unknown) => e instanceof QmpTimeoutError && e.code === 'QMP_ERR_TIMEOUT' && e.timeoutMs === 200,
    );
    q.proc.kill('SIGCONT');
    // The late reply to the timed-out call is discarded by id; the next call gets its own reply.
    assert.equal((await qmp.execute('query-status', undefined, { timeoutMs: 5000 })).status, 'running');
    await qmp.close();
  } finally {
    q.proc.kill('SIGCONT');
    await q.stop();
  }
});

test('a pretty=on monitor works', async (t) => {
  if (!requireQemu(t)) return;
  const q = await startQemu({ pretty: true });
  try {
    const qmp = await QmpClient.connect(`unix:${q.socketPath}`, { timeoutMs: 5000 });
    assert.equal((await qmp.execute('query-status')).running, true);
    const v = await qmp.execute('query-version');
    assert.equal(v.qemu.major, 7);
    assert.equal((await qmp.execute('query-qmp-schema')).length, 1051);
    await qmp.close();
  } finally {
    await q.stop();
  }
});

test('q35 with an IDE cd-rom: eject emits DEVICE_TRAY_MOVED; quit ends the session cleanly', async (t) => {
  if (!requireQemu(t)) return;
  const q = await startQemu({ machine: 'q35', cdrom: 'media' });
  try {
    const qmp = await QmpClient.connect(q.socketPath, { timeoutMs: 10000 });
    const moved = qmp.waitForEvent('DEVICE_TRAY_MOVED', {
      match: { id: 'ide1-cd0', 'tray-open': true },
      timeoutMs: 5000,
    });
    await qmp.execute('eject', { id: 'ide1-cd0' });
    assert.equal((await moved).data?.device, 'cd0');
    await assert.rejects(
      qmp.execute('eject', { id: 'nope' }),
      (e: unknown) => e instanceof QmpCommandError && e.errorClass === 'DeviceNotFound',
    );
    const shutdown = qmp.waitForEvent('SHUTDOWN', { timeoutMs: 5000 });
    assert.deepEqual(await qmp.execute('quit'), {});
    assert.equal((await shutdown).data?.reason, 'host-qmp-quit');
    assert.equal(await qmp.closed, undefined);
    const exit = await q.exited;
    assert.equal(exit.code, 0);
  } finally {
    await q.stop();
  }
});
