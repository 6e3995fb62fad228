// The client against a real QEMU 7.2 that is killed (SIGKILL) or frozen (SIGSTOP) with calls,
// waiters and iterators outstanding. HMP `print N` answers `0x<N in hex>`, so every reply shows
// which request it belongs to.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { QmpClient } from '../../src/client/index.js';
import { QmpConnectionError, QmpError, QmpStateError, QmpTimeoutError } from '../../src/errors/index.js';
import { type QemuInstance, requireQemu, startQemu } from '../helpers/qemu.js';
import { deadline, loopTurns, outcome, StrayWatch } from '../helpers/strays.js';

const LIMIT_MS = 15_000;

function print(qmp: QmpClient, n: number, timeoutMs?: number): Promise<unknown> {
  return qmp.executeRaw(
    'human-monitor-command',
    { 'command-line': `print ${n}` },
    timeoutMs === undefined ? {} : { timeoutMs },
  );
}

function printed(n: number): string {
  return `0x${n.toString(16)}\r\n`;
}

/**
 * Sends SIGSTOP and waits until the kernel reports the process stopped: the signal is delivered
 * asynchronously, and a request QEMU still answered would not be outstanding.
 */
async function freeze(q: QemuInstance): Promise<void> {
  q.proc.kill('SIGSTOP');
  const until = Date.now() + LIMIT_MS;
  // /proc/PID/stat: "pid (comm) S ...": the state follows the last ')'.
  const state = (): string => {
    const stat = readFileSync(`/proc/${q.proc.pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  };
  while (state() !== 'T') {
    if (Date.now() > until) throw new Error('QEMU did not stop');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Resumes a stopped QEMU (if it still runs) and kills it, whatever happened in the test. */
async function cleanUp(q: QemuInstance): Promise<void> {
  q.proc.kill('SIGCONT');
  await q.stop();
}

test('SIGKILL with pipelined calls, held-back calls, waiters and iterators outstanding', async (t) => {
  if (!requireQemu(t)) return;
  const strays = new StrayWatch();
  const q = await startQemu();
  try {
    const qmp = await QmpClient.connect(q.socketPath, { timeoutMs: LIMIT_MS });
    assert.ok(qmp.oobEnabled);
    assert.equal(await deadline(print(qmp, 1), LIMIT_MS, 'first print'), printed(1));
    // Frozen, QEMU answers nothing: every call below is outstanding when it dies.
    await freeze(q);
    const calls = Array.from({ length: 12 }, (_, i) => print(qmp, 100 + i));
    const waiters: Promise<unknown>[] = [qmp.waitForEvent('SHUTDOWN'), qmp.waitForEvent('STOP', { timeoutMs: 60_000 })];
    const it = qmp.events();
    const next = it.next();
    const loop = (async () => {
      let n = 0;
      for await (const _e of qmp.events()) n++;
      return n;
    })();
    await loopTurns();
    q.proc.kill('SIGKILL');
    const reason = await deadline(qmp.closed, LIMIT_MS, 'the client sees QEMU die');
    assert.ok(reason instanceof QmpConnectionError && reason.code === 'QMP_ERR_DISCONNECTED', String(reason));
    await strays.assertNone('QEMU killed with calls and waiters unawaited');
    for (const [i, p] of calls.entries()) {
      const r = await outcome(p, LIMIT_MS, `call ${i}`);
      assert.ok(!r.ok && r.error instanceof QmpConnectionError, `call ${i}: ${String(!r.ok && r.error)}`);
      assert.equal(r.error.code, 'QMP_ERR_DISCONNECTED');
      // The first 8 were written (QEMU's in-band queue); they may or may not have run.
      if (i < 8) assert.match(r.error.message, /may or may not have run/);
    }
    for (const [i, w] of waiters.entries()) {
      const r = await outcome(w, LIMIT_MS, `waiter ${i}`);
      assert.ok(!r.ok && r.error instanceof QmpError, `waiter ${i}`);
    }
    assert.deepEqual(await deadline(next, LIMIT_MS, 'iterator'), { value: undefined, done: true });
    assert.equal(await deadline(loop, LIMIT_MS, 'for-await loop'), 0);
    assert.equal(qmp.state, 'closed');
    assert.equal(qmp.pendingCount, 0);
    await deadline(q.exited, LIMIT_MS, 'QEMU exits');
  } finally {
    strays.stop();
    await cleanUp(q);
  }
});

test('SIGSTOP: per-call deadlines fire; after SIGCONT late replies are discarded and the session keeps working', async (t) => {
  if (!requireQemu(t)) return;
  const strays = new StrayWatch();
  const q = await startQemu();
  try {
    const qmp = await QmpClient.connect(q.socketPath, { timeoutMs: LIMIT_MS });
    assert.equal(await deadline(print(qmp, 7), LIMIT_MS, 'first print'), printed(7));
    const stopped = qmp.waitForEvent('STOP', { timeoutMs: 120_000 });
    const it = qmp.events({ names: ['STOP', 'RESUME'] });
    await freeze(q);
    // Unawaited, expiring while QEMU is frozen: must not become unhandled.
    const unawaited = qmp.waitForEvent('RESUME', { timeoutMs: 50 });
    const timed = [print(qmp, 0x51, 100), print(qmp, 0x52, 150), print(qmp, 0x53, 200)];
    for (const [i, p] of timed.entries()) {
      const r = await outcome(p, LIMIT_MS, `timed call ${i}`);
      assert.ok(!r.ok && r.error instanceof QmpTimeoutError && r.error.code === 'QMP_ERR_TIMEOUT', `timed ${i}`);
    }
    const u = await outcome(unawaited, LIMIT_MS, 'unawaited waiter');
    assert.ok(!u.ok && u.error instanceof QmpTimeoutError);
    await strays.assertNone('deadlines while QEMU is frozen');
    // A call without a deadline waits through the freeze and gets its own reply.
    const patient = print(qmp, 0x60);
    q.proc.kill('SIGCONT');
    assert.equal(await deadline(patient, LIMIT_MS, 'patient call'), printed(0x60));
    // Replies come in request order: once these are in, every late reply has come and gone.
    const after = [print(qmp, 0x70), qmp.execute('query-status'), print(qmp, 0x71)];
    const [a, status, b] = await deadline(Promise.all(after), LIMIT_MS, 'calls after the freeze');
    assert.equal(a, printed(0x70));
    assert.deepEqual(status, { status: 'running', singlestep: false, running: true });
    assert.equal(b, printed(0x71));
    assert.equal(qmp.pendingCount, 0);
    assert.equal(qmp.state, 'ready');
    // Events still flow to waiters armed before the freeze and to iterators.
    await deadline(qmp.execute('stop'), LIMIT_MS, 'stop');
    assert.equal((await deadline(stopped, LIMIT_MS, 'STOP waiter')).event, 'STOP');
    assert.equal((await deadline(it.next(), LIMIT_MS, 'iterator')).value?.event, 'STOP');
    await deadline(qmp.execute('cont'), LIMIT_MS, 'cont');
    assert.equal((await deadline(it.next(), LIMIT_MS, 'iterator')).value?.event, 'RESUME');
    await qmp.close();
    await strays.assertNone('after the freeze');
  } finally {
    strays.stop();
    await cleanUp(q);
  }
});

test('close() while QEMU is frozen resolves; outstanding calls and waiters settle; a new client works after SIGCONT', async (t) => {
  if (!requireQemu(t)) return;
  const strays = new StrayWatch();
  const q = await startQemu();
  try {
    const qmp = await QmpClient.connect(q.socketPath, { timeoutMs: LIMIT_MS });
    assert.equal(await deadline(print(qmp, 3), LIMIT_MS, 'first print'), printed(3));
    await freeze(q);
    const calls = [print(qmp, 0x31), print(qmp, 0x32)];
    const waiter = qmp.waitForEvent('STOP');
    await loopTurns();
    await deadline(qmp.close(), LIMIT_MS, 'close() against a frozen QEMU');
    assert.equal(await qmp.closed, undefined);
    await strays.assertNone('calls and a waiter unawaited over close()');
    for (const p of calls) {
      const r = await outcome(p, LIMIT_MS, 'call');
      assert.ok(!r.ok && r.error instanceof QmpStateError && r.error.code === 'QMP_ERR_CLOSED', String(r));
    }
    assert.equal((await outcome(waiter, LIMIT_MS, 'waiter')).ok, false);
    q.proc.kill('SIGCONT');
    // QEMU serves one client at a time: the next one gets in once QEMU has seen the old one go.
    const next = await QmpClient.connect(q.socketPath, { timeoutMs: LIMIT_MS });
    assert.equal(await deadline(print(next, 0x40), LIMIT_MS, 'new client'), printed(0x40));
    await next.close();
  } finally {
    strays.stop();
    await cleanUp(q);
  }
});
