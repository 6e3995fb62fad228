// The proxy in front of a real QEMU 7.2: five clients at once (ours and raw sockets) pipelining with
// colliding ids, events seen by all, a slow reader, policy denial, QEMU killed and restarted.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { QmpClient } from '../../src/client/index.js';
import { QmpCommandError, QmpConnectionError } from '../../src/errors/index.js';
import { formatProxyNotice, QmpProxy, type QmpProxyNotice, QmpProxyPolicy } from '../../src/proxy/index.js';
import { RawPeer, recordSession } from '../conformance/raw-peer.js';
import { connectRetry } from '../helpers/connect-retry.js';
import { requireQemu, startQemuAt } from '../helpers/qemu.js';
import { deadline } from '../helpers/strays.js';

/** HMP `print N` output: hex with 0x, except plain 0. */
function hmpPrint(n: number): string {
  return n === 0 ? '0' : `0x${n.toString(16)}`;
}

test('five clients through the proxy: own ids, events to all, slow reader, policy, audit', {
  timeout: 60000,
}, async (t) => {
  if (!requireQemu(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-proxy-'));
  const qsock = join(dir, 'qemu.sock');
  const qemu = startQemuAt(qsock);
  const audit = join(dir, 'audit.jsonl');
  let proxy: QmpProxy | undefined;
  try {
    await (await connectRetry(qsock)).close();
    proxy = await QmpProxy.start({
      upstream: qsock,
      listen: [`unix:${join(dir, 'rw.sock')}`, `unix:${join(dir, 'ro.sock')}`],
      policy: new QmpProxyPolicy({ listeners: { [`unix:${join(dir, 'ro.sock')}`]: 'read-only' } }),
      audit,
      maxClientEventBuffer: 16,
    });
    const rw = join(dir, 'rw.sock');
    const clients = await Promise.all([1, 2, 3].map(() => QmpClient.connect(rw, { timeoutMs: 5000 })));
    assert.equal(clients[0]?.greeting.QMP.version.qemu.major, 7, "clients get QEMU's greeting");
    const raws = await Promise.all([RawPeer.open(rw), RawPeer.open(rw)]);
    for (const r of raws) {
      assert.match(await r.greeting(), /"QMP": \{"version": \{"qemu"/);
      assert.deepEqual(await r.exchange('{"execute":"qmp_capabilities"}\n'), ['{"return": {}}\r\n']);
      assert.deepEqual(await r.exchange('{"execute":"qmp_capabilities","id":2}\n'), [
        '{"id": 2, "error": {"class": "CommandNotFound", "desc": "Capabilities negotiation is already complete, command ignored"}}\r\n',
      ]);
    }
    // A slow reader: a raw client that negotiates and then never reads.
    const slow = await RawPeer.open(rw);
    await slow.greeting();
    await slow.exchange('{"execute":"qmp_capabilities"}\n');
    slow.pause();

    // Colliding ids: the raw clients both use ids 1..50 in one write each; our clients pipeline too.
    const rawRuns = raws.map((r, n) =>
      r.exchange(
        Array.from(
          { length: 50 },
          (_, i) =>
            `{"execute":"human-monitor-command","arguments":{"command-line":"print ${n * 1000 + i}"},"id":${i + 1}}\n`,
        ).join(''),
      ),
    );
    const ours = clients.map((c, n) =>
      Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          c.executeRaw('human-monitor-command', { 'command-line': `print ${(n + 5) * 1000 + i}` }),
        ),
      ),
    );
    const [rawOut, oursOut] = await Promise.all([Promise.all(rawRuns), Promise.all(ours)]);
    for (const [n, lines] of rawOut.entries()) {
      assert.equal(lines.length, 50);
      for (const [i, l] of lines.entries()) {
        assert.equal(l, `{"return": "${hmpPrint(n * 1000 + i)}\\r\\n", "id": ${i + 1}}\r\n`);
      }
    }
    for (const [n, res] of oursOut.entries()) {
      for (const [i, v] of res.entries()) assert.equal(v, `${hmpPrint((n + 5) * 1000 + i)}\r\n`);
    }

    // Events reach every negotiated client, ours and raw; the slow reader is cut off, not waited for.
    const waits = clients.map((c) => c.waitForEvent('STOP', { timeoutMs: 5000 }));
    await clients[0]?.execute('stop');
    await Promise.all(waits);
    const rawEv = await raws[0]?.exchange('{"execute":"cont","id":"c"}\n');
    assert.ok(rawEv?.some((l) => l.includes('"event": "RESUME"')));
    // Thousands of events: enough to fill the slow reader's socket buffer, so its queue grows past
    // maxClientEventBuffer and it is disconnected; the other clients are not held up.
    const c1 = clients[1];
    assert.ok(c1);
    // A deadline, not a measurement: held up by the slow reader, this would never finish.
    await deadline(
      Promise.all(Array.from({ length: 4000 }, (_, i) => c1.execute(i % 2 === 0 ? 'stop' : 'cont'))),
      120_000,
      '4000 commands beside a slow reader',
    );
    assert.equal(proxy.clientCount, 5, 'the slow reader was disconnected');

    // Policy: the read-only listener may query but not stop.
    const ro = await QmpClient.connect(join(dir, 'ro.sock'), { timeoutMs: 5000 });
    assert.equal((await ro.execute('query-status')).status, 'running');
    await assert.rejects(ro.execute('stop'), (e: unknown) => {
      assert.ok(e instanceof QmpCommandError);
      assert.equal(e.errorClass, 'GenericError');
      assert.match(e.desc, /not allowed/);
      return true;
    });
    // QEMU's own errors pass through verbatim.
    await assert.rejects(
      ro.executeRaw('query-nope'),
      (e: unknown) => e instanceof QmpCommandError && e.errorClass === 'CommandNotFound',
    );
    await ro.close();
    for (const c of clients) await c.close();
    for (const r of raws) r.close();
    slow.close();
    await proxy.close();
    const lines = readFileSync(audit, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { command: string; outcome: string });
    assert.ok(lines.some((l) => l.command === 'stop' && l.outcome === 'denied'));
    assert.ok(lines.some((l) => l.command === 'query-nope' && l.outcome === 'error'));
    assert.ok(lines.filter((l) => l.outcome === 'ok').length >= 400);
  } finally {
    await proxy?.close();
    qemu.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('upstream QEMU killed and restarted: clients see the loss, the proxy reconnects, new clients work', {
  timeout: 60000,
}, async (t) => {
  if (!requireQemu(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-proxy-'));
  const qsock = join(dir, 'qemu.sock');
  let qemu = startQemuAt(qsock);
  let proxy: QmpProxy | undefined;
  try {
    await (await connectRetry(qsock)).close();
    const notices: QmpProxyNotice[] = [];
    proxy = await QmpProxy.start({
      upstream: qsock,
      listen: [join(dir, 'p.sock')],
      reconnectMinMs: 20,
      reconnectMaxMs: 200,
      onNotice: (n) => notices.push(n),
    });
    const c = await QmpClient.connect(join(dir, 'p.sock'), { timeoutMs: 5000 });
    assert.equal((await c.execute('query-status')).running, true);
    const inflight = Array.from({ length: 50 }, () => c.execute('query-status'));
    qemu.kill();
    const settled = await Promise.allSettled(inflight);
    assert.ok(
      settled.some((r) => r.status === 'rejected'),
      'in-flight commands fail',
    );
    // As when QEMU itself dies: the connection drops, no error reply claims the command failed.
    for (const r of settled) {
      if (r.status === 'rejected')
        assert.ok(r.reason instanceof QmpConnectionError && r.reason.code === 'QMP_ERR_DISCONNECTED', String(r.reason));
    }
    assert.ok((await c.closed) instanceof QmpConnectionError);
    await qemu.exited;
    qemu = startQemuAt(qsock);
    await proxy.whenUpstream();
    const c2 = await connectRetry(join(dir, 'p.sock'));
    assert.equal((await c2.execute('query-status')).running, true);
    await c2.close();
    // The operator's log: QEMU lost with one client cut off, then back.
    const lost = notices.find((n) => n.kind === 'upstream-lost');
    assert.deepEqual(lost && { ...lost, reason: '' }, {
      kind: 'upstream-lost',
      upstream: qsock,
      reason: '',
      clients: 1,
      reconnecting: true,
    });
    assert.deepEqual(
      notices.filter((n) => n.kind === 'upstream-connected').map((n) => n.reconnected),
      [false, true],
    );
    const first = notices.find((n) => n.kind === 'client-disconnected');
    assert.equal(first?.kind === 'client-disconnected' && first.reason, 'QEMU went away');
    assert.match(formatProxyNotice(lost ?? notices[0]!), /^lost QEMU at .*; 1 client\(s\) disconnected; reconnecting$/);
  } finally {
    await proxy?.close();
    qemu.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a raw client sees the same bytes through the proxy as from QEMU itself', { timeout: 60000 }, async (t) => {
  if (!requireQemu(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-proxy-'));
  const qsock = join(dir, 'qemu.sock');
  const qemu = startQemuAt(qsock);
  let proxy: QmpProxy | undefined;
  // Each line checks something a decode-and-re-encode proxy gets wrong: QEMU's member order (the
  // status/singlestep keys share a QDict bucket), ids echoed as QEMU prints them, a double where an
  // integer is wanted, unexpected members named in QEMU's order, uint64 values, glib-ordered lists.
  const requests = [
    '{"execute":"query-status","id":1}',
    '{"execute":"query-status","id":{"b":[1.5,-0.0,1e400,18446744073709551615],"a":"\\u00e9"}}',
    '{"execute":"human-monitor-command","arguments":{"command-line":"info status","cpu-index":1.0},"id":2}',
    '{"execute":"human-monitor-command","arguments":{"command-line":"info status","cpu-index":1e400},"id":22}',
    '{"execute":"query-status","arguments":{"zz":1,"aa":2,"k":3},"id":3}',
    '{"execute":"migrate-set-parameters","arguments":{"max-bandwidth":18446744073709551615},"id":4}',
    '{"execute":"migrate-set-parameters","arguments":{"max-bandwidth":9007199254740993},"id":5}',
    '{"execute":"query-migrate-parameters","id":6}',
    '{"execute":"qom-list","arguments":{"path":"/machine"},"id":7}',
    '{"execute":"stop","id":8}',
    '{"execute":"cont","id":9}',
    '{"execute":"no-such-command","id":10}',
    '{"execute":"","id":11}',
    '{"exec-oob":"query-yank","id":"o1"}',
    '{"exec-oob":"query-status","id":"o2"}',
    '{"exec-oob":"query-yank"}',
    '{"execute":"query-name"}',
  ];
  try {
    await (await connectRetry(qsock)).close();
    const direct = await recordSession(qsock, requests);
    proxy = await QmpProxy.start({ upstream: qsock, listen: [join(dir, 'p.sock')] });
    const via = await recordSession(join(dir, 'p.sock'), requests);
    assert.ok(direct.some((l) => l.startsWith('{"return": {"status": "running", "singlestep"')));
    assert.ok(direct.some((l) => l.includes('"event": "STOP"')));
    assert.deepEqual(via, direct);
  } finally {
    await proxy?.close();
    qemu.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
