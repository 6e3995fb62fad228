// The reconnect policy against the simulator: its server is stopped and another started on the same
// socket path. Attempts are counted through onReconnect; nothing here depends on wall-clock time.
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { QmpClient, type QmpReconnectEvent } from '../../src/client/index.js';
import { ReconnectPolicy } from '../../src/client/reconnect-policy.js';
import { Runstate } from '../../src/client/runstate.js';
import { QmpError } from '../../src/errors/index.js';
import { type QmpSimulator, startSimulator } from '../../src/simulator/index.js';
import { deadline, StrayWatch } from '../helpers/strays.js';

const LIMIT_MS = 15_000;
const sink = new Writable({ write: (_c, _e, cb) => cb() });

function sim(path: string): Promise<QmpSimulator> {
  return startSimulator({
    argv: ['-machine', 'q35', '-nodefaults'],
    qmp: [`unix:${path},server=on,wait=off`],
    stderr: sink,
  });
}

/** Records a client's reconnect story and resolves `next(type)` when that event comes. */
function story(client: QmpClient): {
  events: QmpReconnectEvent[];
  next(type: QmpReconnectEvent['type']): Promise<QmpReconnectEvent>;
} {
  const events: QmpReconnectEvent[] = [];
  const waiters: Array<{ type: string; resolve: (e: QmpReconnectEvent) => void }> = [];
  client.onReconnect((e) => {
    events.push(e);
    for (const w of waiters.filter((x) => x.type === e.type)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(e);
    }
  });
  return {
    events,
    next: (type) =>
      deadline(new Promise<QmpReconnectEvent>((resolve) => waiters.push({ type, resolve })), LIMIT_MS, type),
  };
}

async function errorOf(p: Promise<unknown>): Promise<QmpError> {
  const r = await deadline(
    p.then(
      () => undefined,
      (e: unknown) => e,
    ),
    LIMIT_MS,
    'call',
  );
  assert.ok(r instanceof QmpError, `expected a QmpError, got ${String(r)}`);
  return r;
}

function tempDir(): { dir: string; path: string; alt: string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-reconnect-'));
  return {
    dir,
    path: join(dir, 'qmp.sock'),
    alt: join(dir, 'alt.sock'),
    [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }),
  };
}

test('backoff: delays grow by factor up to maxDelayMs; maxAttempts bounds the attempts; bad options refused', () => {
  const p = new ReconnectPolicy({ initialDelayMs: 10, factor: 2, maxDelayMs: 35, maxAttempts: 4 });
  assert.deepEqual(
    [1, 2, 3, 4].map((n) => p.delayBefore(n)),
    [10, 20, 35, 35],
  );
  assert.equal(p.delayBefore(5), undefined, 'no fifth attempt');
  const d = new ReconnectPolicy(true);
  assert.equal(d.delayBefore(1), 100);
  assert.equal(d.delayBefore(1_000_000), 5_000, 'the default has no attempt limit and a 5 s ceiling');
  assert.throws(() => new ReconnectPolicy({ maxAttempts: 0 }), { code: 'QMP_ERR_USAGE' });
  assert.throws(() => new ReconnectPolicy({ factor: 0.5 }), { code: 'QMP_ERR_USAGE' });
  assert.throws(() => new ReconnectPolicy({ initialDelayMs: 10, maxDelayMs: 5 }), { code: 'QMP_ERR_USAGE' });
});

test('runstate: ready <-> reconnecting are legal, reconnecting out of closed or connecting is not', () => {
  const r = new Runstate();
  assert.throws(() => r.to('reconnecting'), { code: 'QMP_ERR_INTERNAL' });
  r.to('ready');
  r.to('reconnecting');
  r.to('ready');
  r.to('reconnecting');
  r.to('closed');
  assert.throws(() => r.to('reconnecting'), { code: 'QMP_ERR_INTERNAL' });
});

test('reconnect needs an address', async () => {
  const { Duplex } = await import('node:stream');
  await assert.rejects(
    QmpClient.connect(
      new Duplex({
        read() {},
        write(_c, _e, cb) {
          cb();
        },
      }),
      { reconnect: true },
    ),
    {
      code: 'QMP_ERR_USAGE',
    },
  );
});

test('a lost simulator: commands issued meanwhile wait, handlers, iterators and waiters carry on with the new one', async () => {
  using tmp = tempDir();
  const watch = new StrayWatch();
  let sim2: QmpSimulator | undefined;
  const sim1 = await sim(tmp.path);
  const client = await QmpClient.connect(tmp.path, { reconnect: { initialDelayMs: 1, maxDelayMs: 20 } });
  try {
    const s = story(client);
    const stops: string[] = [];
    client.on('STOP', (e) => stops.push(e.event));
    const it = client.events({ names: ['STOP'] });
    const resumed = client.waitForEvent('RESUME', { timeoutMs: LIMIT_MS });
    const lost = s.next('disconnected');
    await sim1.close();
    await lost;
    assert.equal(client.state, 'reconnecting');
    const waiting = client.execute('query-status');
    assert.equal(client.pendingCount, 1);
    const back = s.next('reconnected');
    sim2 = await sim(tmp.path);
    const ev = await back;
    assert.equal(ev.type === 'reconnected' && ev.greeting.QMP.version.qemu.major, 7);
    assert.equal(client.state, 'ready');
    assert.equal((await deadline(waiting, LIMIT_MS, 'waiting call')).status, 'running');
    await client.execute('stop');
    const first = await deadline(it.next(), LIMIT_MS, 'iterator');
    assert.equal(first.value?.event, 'STOP');
    assert.equal(it.reconnects, 1, 'the iterator counts the gap');
    assert.deepEqual(stops, ['STOP']);
    await client.execute('cont');
    assert.equal((await resumed).event, 'RESUME');
    assert.deepEqual(
      s.events.map((e) => e.type),
      [
        'disconnected',
        ...s.events.filter((e) => e.type === 'attempt-failed').map(() => 'attempt-failed'),
        'reconnected',
      ],
    );
  } finally {
    await client.close();
    assert.equal(await client.closed, undefined);
    await sim2?.close();
    watch.stop();
  }
  await watch.assertNone('reconnect');
});

test('maxAttempts 3: exactly 3 attempts, then closed with the last error; waiting calls, waiters and iterators end', async () => {
  using tmp = tempDir();
  const watch = new StrayWatch();
  const sim1 = await sim(tmp.path);
  const client = await QmpClient.connect(tmp.path, { reconnect: { initialDelayMs: 1, maxDelayMs: 5, maxAttempts: 3 } });
  const s = story(client);
  const lost = s.next('disconnected');
  const it = client.events();
  const waiter = client.waitForEvent('RESUME');
  await sim1.close();
  await lost;
  const waiting = client.execute('query-status');
  const gaveUp = await s.next('gave-up');
  const reason = await deadline(client.closed, LIMIT_MS, 'closed');
  assert.equal(client.state, 'closed');
  const failed = s.events.filter((e) => e.type === 'attempt-failed');
  assert.deepEqual(
    failed.map((e) => e.type === 'attempt-failed' && [e.attempt, e.nextDelayMs === undefined]),
    [
      [1, false],
      [2, false],
      [3, true],
    ],
  );
  assert.ok(gaveUp.type === 'gave-up' && gaveUp.attempts === 3);
  assert.ok(reason instanceof QmpError && reason.code === 'QMP_ERR_CONNECT', String(reason));
  assert.equal(
    reason,
    failed[2]?.type === 'attempt-failed' ? failed[2].error : undefined,
    'closed with the last error',
  );
  const err = await errorOf(waiting);
  assert.equal(err.code, 'QMP_ERR_DISCONNECTED');
  assert.match(err.message, /did not run/);
  assert.equal((await errorOf(waiter)).code, 'QMP_ERR_CONNECT');
  assert.equal((await deadline(it.next(), LIMIT_MS, 'iterator')).done, true);
  await client.close();
  watch.stop();
  await watch.assertNone('give up');
});

test('maxAttempts 3: a server back for the 3rd attempt is reconnected (the edge)', async () => {
  using tmp = tempDir();
  // The client dials a link. The first server's own socket sits elsewhere, so its close (which
  // removes its socket file) can never remove what the link points at later.
  const first = join(tmp.dir, 'first.sock');
  const sim1 = await sim(first);
  symlinkSync(first, tmp.path);
  // The second server listens elsewhere; the link is turned to it, atomically, when the second
  // attempt has failed: the third is the first that can succeed.
  const sim2 = await sim(tmp.alt);
  const client = await QmpClient.connect(tmp.path, { reconnect: { initialDelayMs: 1, maxDelayMs: 5, maxAttempts: 3 } });
  try {
    client.onReconnect((e) => {
      if (e.type !== 'attempt-failed' || e.attempt !== 2) return;
      const next = join(tmp.dir, 'next.link');
      symlinkSync(tmp.alt, next);
      renameSync(next, tmp.path);
    });
    const s = story(client);
    await sim1.close();
    const ev = await s.next('reconnected');
    assert.equal(ev.type === 'reconnected' && ev.attempt, 3);
    assert.equal(s.events.filter((e) => e.type === 'attempt-failed').length, 2);
    assert.equal((await client.execute('query-status')).status, 'running');
  } finally {
    await client.close();
    await sim2.close();
  }
});

test('close() during the backoff stops it at once; calls waiting fail QMP_ERR_CLOSED', async () => {
  using tmp = tempDir();
  const sim1 = await sim(tmp.path);
  const client = await QmpClient.connect(tmp.path, { reconnect: { initialDelayMs: 3_600_000 } });
  const s = story(client);
  const lost = s.next('disconnected');
  await sim1.close();
  await lost;
  const waiting = client.execute('query-status');
  await deadline(client.close(), LIMIT_MS, 'close');
  assert.equal(await client.closed, undefined);
  assert.equal(client.state, 'closed');
  const err = await errorOf(waiting);
  assert.equal(err.code, 'QMP_ERR_CLOSED');
  assert.deepEqual(
    s.events.map((e) => e.type),
    ['disconnected'],
  );
  assert.equal((await errorOf(client.execute('query-status'))).code, 'QMP_ERR_CLOSED');
});

test('while reconnecting: a waiting call keeps its own deadline; maxPendingCommands bounds the wait (2 ok, the 3rd refused)', async () => {
  using tmp = tempDir();
  const sim1 = await sim(tmp.path);
  const client = await QmpClient.connect(tmp.path, {
    maxPendingCommands: 2,
    reconnect: { initialDelayMs: 3_600_000 },
  });
  try {
    const s = story(client);
    const lost = s.next('disconnected');
    await sim1.close();
    await lost;
    const timed = client.execute('query-status', undefined, { timeoutMs: 1 });
    assert.equal((await errorOf(timed)).code, 'QMP_ERR_TIMEOUT');
    const a = client.execute('query-status');
    const b = client.execute('query-name');
    const c = client.execute('query-kvm');
    assert.equal((await errorOf(c)).code, 'QMP_ERR_LIMIT');
    assert.equal(client.pendingCount, 2);
    await client.close();
    assert.equal((await errorOf(a)).code, 'QMP_ERR_CLOSED');
    assert.equal((await errorOf(b)).code, 'QMP_ERR_CLOSED');
  } finally {
    await client.close();
  }
});

test('quit ends a reconnecting client for good', async () => {
  using tmp = tempDir();
  const sim1 = await sim(tmp.path);
  const client = await QmpClient.connect(tmp.path, { reconnect: true });
  await client.execute('quit');
  assert.equal(await deadline(client.closed, LIMIT_MS, 'closed'), undefined);
  assert.equal(client.state, 'closed');
  await sim1.close();
});
