// The proxy in front of the simulator: the real-QEMU scenarios (five clients with colliding ids,
// events to all, a slow reader, policy, restart) run here in a fraction of the time, plus a byte
// comparison of a raw session through the proxy with the same session straight to a simulator.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { QmpClient } from '../../src/client/index.js';
import { QmpCommandError, QmpConnectionError } from '../../src/errors/index.js';
import type { QmpAuditRecord } from '../../src/proxy/index.js';
import { formatProxyNotice, QmpProxy, QmpProxyPolicy } from '../../src/proxy/index.js';
import { type QmpSimulator, startSimulator } from '../../src/simulator/index.js';
import { RawPeer, recordSession } from '../conformance/raw-peer.js';
import { connectRetry } from '../helpers/connect-retry.js';
import { deadline } from '../helpers/strays.js';

function sim(sock: string): Promise<QmpSimulator> {
  return startSimulator({ argv: ['-machine', 'none', '-qmp', `unix:${sock},server=on,wait=off`] });
}

/** A request whose error names `tag`, so each reply shows which request it answers. */
function tagged(tag: string, id?: number): string {
  return `{"execute":"query-status","arguments":{"${tag}":1}${id === undefined ? '' : `,"id":${id}`}}\n`;
}

function taggedReply(tag: string, id: number): string {
  return `{"id": ${id}, "error": {"class": "GenericError", "desc": "Parameter '${tag}' is unexpected"}}\r\n`;
}

test('five clients through the proxy to the simulator: own ids, events to all, slow reader, policy, audit', {
  timeout: 60000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-psim-'));
  const qsock = join(dir, 'q.sock');
  const upstream = await sim(qsock);
  const rw = join(dir, 'rw.sock');
  const roSock = join(dir, 'ro.sock');
  const audit: QmpAuditRecord[] = [];
  let proxy: QmpProxy | undefined;
  try {
    proxy = await QmpProxy.start({
      upstream: qsock,
      listen: [rw, `unix:${roSock}`],
      policy: new QmpProxyPolicy({ listeners: { [roSock]: 'read-only' } }),
      audit: (r) => audit.push(r),
      maxClientEventBuffer: 16,
    });
    const clients = await Promise.all([1, 2, 3].map(() => QmpClient.connect(rw, { timeoutMs: 5000 })));
    const raws = await Promise.all([RawPeer.open(rw), RawPeer.open(rw)]);
    for (const r of raws) {
      assert.match(await r.greeting(), /^\{"QMP": \{"version": \{"qemu": \{"micro": \d+, "minor": \d+, "major": \d+\}/);
      assert.deepEqual(await r.exchange('{"execute":"qmp_capabilities"}\n'), ['{"return": {}}\r\n']);
    }
    const slow = await RawPeer.open(rw);
    await slow.greeting();
    await slow.exchange('{"execute":"qmp_capabilities"}\n');
    slow.pause();

    // Both raw clients use ids 1..50, in one write each; our clients pipeline 100 each.
    const rawRuns = raws.map((r, n) =>
      r.exchange(Array.from({ length: 50 }, (_, i) => tagged(`r${n}-${i}`, i + 1)).join('')),
    );
    const ours = clients.map((c, n) =>
      Promise.allSettled(Array.from({ length: 100 }, (_, i) => c.executeRaw('query-status', { [`c${n}-${i}`]: 1 }))),
    );
    const [rawOut, oursOut] = await Promise.all([Promise.all(rawRuns), Promise.all(ours)]);
    for (const [n, lines] of rawOut.entries())
      assert.deepEqual(
        lines,
        Array.from({ length: 50 }, (_, i) => taggedReply(`r${n}-${i}`, i + 1)),
      );
    for (const [n, res] of oursOut.entries()) {
      for (const [i, r] of res.entries()) {
        assert.equal(r.status, 'rejected');
        assert.ok(r.status === 'rejected' && r.reason instanceof QmpCommandError);
        assert.equal(r.reason.desc, `Parameter 'c${n}-${i}' is unexpected`);
      }
    }

    // Events reach everyone; the slow reader is cut off, not waited for.
    const waits = clients.map((c) => c.waitForEvent('STOP', { timeoutMs: 5000 }));
    await clients[0]?.execute('stop');
    await Promise.all(waits);
    const rawEv = await raws[0]?.exchange('{"execute":"cont","id":"c"}\n');
    assert.ok(rawEv?.some((l) => l.includes('"event": "RESUME"')));
    const c1 = clients[1];
    assert.ok(c1);
    // A deadline, not a measurement: held up by the slow reader, this would never finish.
    await deadline(
      Promise.all(Array.from({ length: 4000 }, (_, i) => c1.execute(i % 2 === 0 ? 'stop' : 'cont'))),
      120_000,
      '4000 commands beside a slow reader',
    );
    assert.equal(proxy.clientCount, 5, 'the slow reader was disconnected');

    // Policy: the read-only listener may query but not stop; the simulator's errors pass through.
    const ro = await QmpClient.connect(roSock, { timeoutMs: 5000 });
    assert.equal((await ro.execute('query-status')).status, 'running');
    await assert.rejects(
      ro.execute('stop'),
      (e: unknown) =>
        e instanceof QmpCommandError &&
        e.errorClass === 'GenericError' &&
        e.desc === "The command stop is not allowed by this proxy's policy (profile 'read-only')",
    );
    await assert.rejects(
      ro.executeRaw('query-nope'),
      (e: unknown) => e instanceof QmpCommandError && e.desc === 'The command query-nope has not been found',
    );
    await ro.close();
    for (const c of clients) await c.close();
    for (const r of raws) r.close();
    slow.close();
    assert.ok(audit.some((a) => a.command === 'stop' && a.outcome === 'denied' && a.listener === `unix:${roSock}`));
    assert.ok(audit.some((a) => a.command === 'query-nope' && a.outcome === 'error' && a.class === 'CommandNotFound'));
    assert.equal(audit.filter((a) => a.command === 'query-status' && a.outcome === 'error').length, 400);
  } finally {
    await proxy?.close();
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the simulator stopped and started again: clients lose their connection, the proxy comes back', {
  timeout: 30000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-psim-'));
  const qsock = join(dir, 'q.sock');
  let upstream = await sim(qsock);
  let proxy: QmpProxy | undefined;
  const notices: string[] = [];
  try {
    proxy = await QmpProxy.start({
      upstream: qsock,
      listen: [join(dir, 'p.sock')],
      reconnectMinMs: 10,
      reconnectMaxMs: 100,
      onNotice: (n) => notices.push(formatProxyNotice(n)),
    });
    const c = await QmpClient.connect(join(dir, 'p.sock'), { timeoutMs: 5000 });
    await c.execute('stop');
    const inflight = Array.from({ length: 20 }, () => c.execute('query-status'));
    await upstream.close();
    for (const r of await Promise.allSettled(inflight)) {
      if (r.status === 'rejected')
        assert.ok(r.reason instanceof QmpConnectionError && r.reason.code === 'QMP_ERR_DISCONNECTED', String(r.reason));
    }
    assert.ok((await c.closed) instanceof QmpConnectionError);
    upstream = await sim(qsock);
    await proxy.whenUpstream();
    const c2 = await connectRetry(join(dir, 'p.sock'));
    // A new simulator: running again, so nothing was replayed from before. On failure, the proxy's
    // own account of the restart says which side dropped the connection.
    const status = await c2.execute('query-status').catch((e: unknown) => {
      throw new Error(`${String(e)}; proxy notices:\n${notices.join('\n')}`, { cause: e });
    });
    assert.equal(status.status, 'running');
    await c2.close();
  } finally {
    await proxy?.close();
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a raw session sees the same bytes through the proxy as from the simulator itself', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-psim-'));
  const direct = await sim(join(dir, 'd.sock'));
  const behind = await sim(join(dir, 'b.sock'));
  const proxy = await QmpProxy.start({ upstream: join(dir, 'b.sock'), listen: [join(dir, 'p.sock')] });
  const requests = [
    '{"execute":"query-status","id":{"b":[1.5,-0.0,1e400,18446744073709551615],"a":"\\u00e9"}}',
    '{"execute":"query-status","arguments":{"zz":1,"aa":2},"id":1}',
    '{"execute":"stop","id":2}',
    '{"execute":"query-status"}',
    '{"execute":"cont","id":3}',
    '{"execute":"human-monitor-command","arguments":{"command-line":"info status"},"id":4}',
    '{"execute":"human-monitor-command","arguments":{"command-line":"info status","cpu-index":1.0},"id":5}',
    '{"execute":"no-such-command","id":6}',
    '{"execute":"","id":61}',
    '{"exec-oob":"query-status","id":"o1"}',
    '{"execute":"qmp_capabilities","id":7}',
    '{"execute":"query-name","extra":1}',
    '[1]',
    'nonsense',
  ];
  try {
    const want = await recordSession(join(dir, 'd.sock'), requests);
    assert.ok(want.some((l) => l.includes('"event": "STOP"')));
    assert.deepEqual(await recordSession(join(dir, 'p.sock'), requests), want);
  } finally {
    await proxy.close();
    await direct.close();
    await behind.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
