// Lock-out: silent clients of a read-only listener cannot keep the owner's full-access listener
// refused; per-listener limits, the reserved room, the negotiation deadline and the idle timeout,
// each at its edge and one past it, in front of the simulator.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { QmpClient } from '../../src/client/index.js';
import { QmpProxy, type QmpProxyNotice, type QmpProxyOptions, QmpProxyPolicy } from '../../src/proxy/index.js';
import { startSimulator } from '../../src/simulator/index.js';
import { deadline } from '../helpers/strays.js';

interface Fixture {
  proxy: QmpProxy;
  owner: string;
  ro: string;
  notices: QmpProxyNotice[];
  /** Resolves with the next notice of `kind` pushed from now on. */
  next(kind?: QmpProxyNotice['kind']): Promise<QmpProxyNotice>;
}

async function withProxy(options: Partial<QmpProxyOptions>, body: (fx: Fixture) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-slock-'));
  const sim = await startSimulator({
    argv: ['-machine', 'none', '-qmp', `unix:${join(dir, 'q.sock')},server=on,wait=off`],
  });
  const owner = join(dir, 'owner.sock');
  const ro = join(dir, 'ro.sock');
  const notices: QmpProxyNotice[] = [];
  const waiters: Array<{ kind: string | undefined; resolve: (n: QmpProxyNotice) => void }> = [];
  let proxy: QmpProxy | undefined;
  try {
    proxy = await QmpProxy.start({
      upstream: join(dir, 'q.sock'),
      listen: [owner, ro],
      policy: new QmpProxyPolicy({ listeners: { [ro]: 'read-only' } }),
      onNotice: (n) => {
        notices.push(n);
        for (const w of waiters.splice(0)) {
          if (w.kind === undefined || w.kind === n.kind) w.resolve(n);
          else waiters.push(w);
        }
      },
      ...options,
    });
    const next = (kind?: QmpProxyNotice['kind']): Promise<QmpProxyNotice> =>
      new Promise((resolve) => waiters.push({ kind, resolve }));
    await body({ proxy, owner, ro, notices, next });
  } finally {
    await proxy?.close();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A client that connects and then says and reads nothing. */
function silent(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path, () => resolve(s));
    s.once('error', reject);
  });
}

function closedWithin(s: Socket, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('socket still open')), ms);
    s.once('close', () => {
      clearTimeout(t);
      resolve();
    });
    s.on('error', () => {});
    s.resume();
  });
}

test('64 silent read-only clients do not lock the owner out', { timeout: 60000 }, () =>
  withProxy({}, async (fx) => {
    const connected = (): number => fx.notices.filter((n) => n.kind === 'client-connected').length;
    const socks: Socket[] = [];
    for (let i = 0; i < 64; i++) socks.push(await silent(fx.ro));
    // Wait until the proxy has seen every one of them (accepted or refused).
    const seen = (): number => connected() + fx.notices.filter((n) => n.kind === 'client-refused').length;
    while (seen() < 64) await deadline(fx.next(), 30_000, `the proxy seeing client ${seen() + 1} of 64`);
    assert.equal(connected(), 60, 'the read-only listener stops at maxClients less the reserved room');
    const qmp = await QmpClient.connect(fx.owner, { timeoutMs: 10000 });
    assert.equal((await qmp.execute('query-status')).status, 'running');
    await qmp.close();
    for (const s of socks) s.destroy();
  }),
);

test('per-listener maxClients: at the limit, one past it', { timeout: 60000 }, () =>
  withProxy({ maxClientsPerListener: 2 }, async (fx) => {
    const a = await QmpClient.connect(fx.ro, { timeoutMs: 10000 });
    const b = await QmpClient.connect(fx.ro, { timeoutMs: 10000 });
    const refused = fx.next('client-refused');
    await assert.rejects(QmpClient.connect(fx.ro, { timeoutMs: 10000 }), /closed|Lost/);
    const n = await deadline(refused, 30_000, 'the client-refused notice');
    assert.ok(n.kind === 'client-refused' && /its maxClients/.test(n.reason), JSON.stringify(n));
    // The other listener has its own count.
    const c = await QmpClient.connect(fx.owner, { timeoutMs: 10000 });
    const d = await QmpClient.connect(fx.owner, { timeoutMs: 10000 });
    await Promise.all([a, b, c, d].map((x) => x.close()));
  }),
);

test(
  'reservedFullAccessClients: restricted listeners stop at maxClients less it, one past it',
  { timeout: 60000 },
  () =>
    withProxy({ maxClients: 4, reservedFullAccessClients: 1 }, async (fx) => {
      const ro = [];
      for (let i = 0; i < 3; i++) ro.push(await QmpClient.connect(fx.ro, { timeoutMs: 10000 }));
      const refused = fx.next('client-refused');
      await assert.rejects(QmpClient.connect(fx.ro, { timeoutMs: 10000 }), /closed|Lost/);
      const n = await deadline(refused, 30_000, 'the client-refused notice');
      assert.ok(n.kind === 'client-refused' && /reservedFullAccessClients/.test(n.reason), JSON.stringify(n));
      const owner = await QmpClient.connect(fx.owner, { timeoutMs: 10000 });
      assert.equal((await owner.execute('query-status')).status, 'running');
      // Now the total is full: the owner's next connection is one past maxClients.
      await assert.rejects(QmpClient.connect(fx.owner, { timeoutMs: 10000 }), /closed|Lost/);
      await Promise.all([...ro, owner].map((x) => x.close()));
    }),
);

test('negotiation deadline: a silent client is disconnected, a negotiated one is kept', { timeout: 60000 }, () =>
  withProxy({ negotiationTimeoutMs: 500 }, async (fx) => {
    const qmp = await QmpClient.connect(fx.ro, { timeoutMs: 10000 });
    const gone = fx.next('client-disconnected');
    const s = await silent(fx.ro);
    await closedWithin(s, 15000);
    const n = await deadline(gone, 30_000, 'the client-disconnected notice');
    assert.ok(n.kind === 'client-disconnected' && /negotiationTimeoutMs/.test(n.reason), JSON.stringify(n));
    // Past the deadline, the client that negotiated in time is still served.
    assert.equal((await qmp.execute('query-status')).status, 'running');
    await qmp.close();
  }),
);

test('idle timeout: a client with no command is disconnected; commands keep it', { timeout: 60000 }, () =>
  withProxy({ idleTimeoutMs: 800, negotiationTimeoutMs: 300 }, async (fx) => {
    const gone = fx.next('client-disconnected');
    const idle = await QmpClient.connect(fx.ro, { timeoutMs: 10000 });
    const n = await deadline(gone, 30_000, 'the client-disconnected notice');
    assert.ok(n.kind === 'client-disconnected' && /idleTimeoutMs/.test(n.reason), JSON.stringify(n));
    await idle.closed;
    const busy = await QmpClient.connect(fx.ro, { timeoutMs: 10000 });
    for (let i = 0; i < 3; i++) assert.equal((await busy.execute('query-status')).status, 'running');
    await busy.close();
  }),
);
