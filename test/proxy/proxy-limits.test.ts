// The proxy's limits at and one past their edge, and how it forwards one client's pipelined commands,
// in front of a scripted upstream QmpServer whose commands finish when the test says so.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { QmpClient } from '../../src/client/index.js';
import { QmpProxy, type QmpProxyOptions } from '../../src/proxy/index.js';
import { pipelinedDispatch, QmpServer } from '../../src/server/index.js';
import type { QValue } from '../../src/wire/index.js';
import { RawPeer } from '../conformance/raw-peer.js';

/** Polls `pred` until it holds or `ms` pass (for state only visible inside the proxy). */
async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

interface Upstream {
  server: QmpServer;
  path: string;
  /** Commands `hold` started and not yet released, in arrival order, with the id each came with. */
  held: Array<{ n: unknown; id: QValue | undefined; release: () => void }>;
}

async function upstream(dir: string): Promise<Upstream> {
  const server = new QmpServer({ dispatch: pipelinedDispatch({ depth: 64 }) });
  const up: Upstream = { server, path: join(dir, 'up.sock'), held: [] };
  server.setFallback(
    (command, args, ctx) => {
      if (command === 'hold')
        return new Promise<unknown>((resolve) =>
          up.held.push({ n: (args as { n?: unknown }).n, id: ctx.id, release: () => resolve({ n: args['n'] }) }),
        );
      if (command === 'then-event') {
        // The event leaves in the same write as the reply, right behind it.
        ctx.onReplyWritten(() => server.emit('AFTER' as never, { n: args['n'] } as never));
        return {};
      }
      if (command === 'big-events') {
        for (let i = 0; i < Number(args['count']); i++)
          server.emit('BIG' as never, { i, pad: 'x'.repeat(1 << 20) } as never);
        return {};
      }
      return { id: ctx.id === undefined ? 'none' : 'some' };
    },
    { allowOob: true },
  );
  await server.listen(`unix:${up.path},server=on,wait=off`);
  return up;
}

/** A proxy on `sock` in front of a scripted upstream, torn down after `body`. */
async function withProxy(
  options: Partial<QmpProxyOptions>,
  body: (f: { up: Upstream; proxy: QmpProxy; sock: string }) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-plim-'));
  const up = await upstream(dir);
  const sock = join(dir, 'p.sock');
  const proxy = await QmpProxy.start({ upstream: up.path, listen: [sock], ...options });
  try {
    await body({ up, proxy, sock });
  } finally {
    await proxy.close();
    await up.server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('maxPendingPerClient: a client has at most N commands in flight; the next is read when one ends', () =>
  withProxy({ maxPendingPerClient: 3 }, async ({ up, sock }) => {
    const peer = await RawPeer.open(sock);
    await peer.greeting();
    await peer.exchange('{"execute":"qmp_capabilities"}\n');
    const sent = Array.from({ length: 5 }, (_, i) => `{"execute":"hold","arguments":{"n":${i}},"id":"c${i}"}\n`);
    const replies = peer.exchange(sent.join(''));
    // At the limit: three are in flight upstream, pipelined (none answered yet).
    await until(() => up.held.length === 3, 5000, 'three held commands');
    // Of the requests in flight upstream at once, at most one goes without the proxy's id.
    assert.equal(up.held.filter((h) => h.id === undefined).length, 1);
    // Absence shown by order, not by waiting: a command another client sends now reaches upstream
    // before this client's fourth, which the proxy read long before.
    const other = await QmpClient.connect(sock);
    const otherReply = other.executeRaw('hold', { n: 99 });
    await until(() => up.held.length === 4, 5000, "the other client's command");
    assert.equal(up.held[3]?.n, 99, 'one past the limit is not forwarded while three are pending');
    // Upstream answers in order (as QEMU does): the other client's reply comes after c0..c2's.
    up.held[3]?.release();
    up.held[0]?.release();
    await until(() => up.held.length === 5, 5000, 'the fourth command');
    assert.equal(up.held[4]?.n, 3);
    for (const i of [1, 2, 4]) up.held[i]?.release();
    await until(() => up.held.length === 6, 5000, 'the fifth command');
    assert.equal(up.held[5]?.n, 4);
    up.held[5]?.release();
    assert.deepEqual(await otherReply, { n: 99 });
    await other.close();
    assert.deepEqual(
      await replies,
      [0, 1, 2, 3, 4].map((i) => `{"return": {"n": ${i}}, "id": "c${i}"}\r\n`),
    );
    // Their replies carry each client's own id.
    peer.close();
  }));

test('pipelined commands of two clients are answered in each client order with its own ids', () =>
  withProxy({}, async ({ up, sock }) => {
    const a = await QmpClient.connect(sock);
    const b = await QmpClient.connect(sock);
    // Four each: with OOB on, eight in-band commands is what QEMU queues (and the proxy writes).
    const ra = Array.from({ length: 4 }, (_, n) => a.executeRaw('hold', { n: `a${n}` }));
    const rb = Array.from({ length: 4 }, (_, n) => b.executeRaw('hold', { n: `b${n}` }));
    await until(() => up.held.length === 8, 5000, 'eight commands in flight');
    // Upstream finishes them in reverse; each client still gets its replies right.
    for (const h of [...up.held].reverse()) h.release();
    assert.deepEqual(
      await Promise.all(ra),
      [0, 1, 2, 3].map((n) => ({ n: `a${n}` })),
    );
    assert.deepEqual(
      await Promise.all(rb),
      [0, 1, 2, 3].map((n) => ({ n: `b${n}` })),
    );
    // exec-oob goes up with an id.
    assert.deepEqual(await a.executeOob('whatever' as never), { id: 'some' } as never);
    await a.close();
    await b.close();
  }));

test('exec-oob keeps its place as in QEMU: right after qmp_capabilities, and behind commands when OOB is off', () =>
  withProxy({}, async ({ up, sock }) => {
    // QEMU reads nothing more until qmp_capabilities is answered, so an exec-oob in the same burst
    // already finds OOB enabled.
    const a = await RawPeer.open(sock);
    await a.greeting();
    assert.deepEqual(
      await a.exchange('{"execute":"qmp_capabilities","arguments":{"enable":["oob"]}}\n{"exec-oob":"ping","id":7}\n'),
      ['{"return": {}}\r\n', '{"return": {"id": "some"}, "id": 7}\r\n'],
    );
    a.close();
    // Without OOB, QEMU reads the exec-oob only after answering the command before it; the proxy
    // reads ahead (pipelining) but answers in that order.
    const b = await RawPeer.open(sock);
    await b.greeting();
    await b.exchange('{"execute":"qmp_capabilities"}\n');
    const replies = b.exchange('{"execute":"hold","arguments":{"n":1},"id":1}\n{"exec-oob":"ping","id":2}\n');
    await until(() => up.held.length === 1, 5000, 'the held command');
    up.held[0]?.release();
    assert.deepEqual(await replies, [
      '{"return": {"n": 1}, "id": 1}\r\n',
      '{"id": 2, "error": {"class": "GenericError", "desc": "QMP input member \'exec-oob\' is unexpected"}}\r\n',
    ]);
    b.close();
  }));

test('an event QEMU sends right after a reply reaches the client after that reply, as QEMU wrote them', () =>
  withProxy({}, async ({ sock }) => {
    const a = await RawPeer.open(sock);
    const b = await RawPeer.open(sock);
    for (const p of [a, b]) {
      await p.greeting();
      await p.exchange('{"execute":"qmp_capabilities"}\n');
    }
    const strip = (lines: string[]): string[] =>
      lines.map((l) => l.replace(/"seconds": \d+, "microseconds": \d+/, 'T'));
    // Several in a row, pipelined: each reply is followed by its event, never overtaken by it.
    const sent = [1, 2, 3].map((n) => `{"execute":"then-event","arguments":{"n":${n}},"id":${n}}\n`).join('');
    assert.deepEqual(
      strip(await a.exchange(sent)),
      [1, 2, 3].flatMap((n) => [
        `{"return": {}, "id": ${n}}\r\n`,
        `{"timestamp": {T}, "event": "AFTER", "data": {"n": ${n}}}\r\n`,
      ]),
    );
    // The other client, with no reply on its way, got the events as they came.
    assert.deepEqual(
      strip(await b.exchange('')),
      [1, 2, 3].map((n) => `{"timestamp": {T}, "event": "AFTER", "data": {"n": ${n}}}\r\n`),
    );
    a.close();
    b.close();
  }));

test('QEMU restarted as another build: new clients get the new greeting', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-plim-'));
  const path = join(dir, 'up.sock');
  const build = (major: number, pkg: string, capabilities: 'oob'[]): QmpServer =>
    new QmpServer({ version: { qemu: { major, minor: 2, micro: 0 }, package: pkg }, capabilities });
  let up = build(7, 'old', ['oob']);
  await up.listen(`unix:${path},server=on,wait=off`);
  const proxy = await QmpProxy.start({ upstream: path, listen: [join(dir, 'p.sock')], reconnectMinMs: 10 });
  try {
    const a = await RawPeer.open(join(dir, 'p.sock'));
    assert.equal(
      await a.greeting(),
      '{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": "old"}, "capabilities": ["oob"]}}\r\n',
    );
    a.close();
    await up.close();
    await until(() => !proxy.upstreamConnected, 5000, 'the proxy to see QEMU go');
    up = build(8, 'new', []);
    await up.listen(`unix:${path},server=on,wait=off`);
    await proxy.whenUpstream();
    const b = await RawPeer.open(join(dir, 'p.sock'));
    assert.equal(
      await b.greeting(),
      '{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 8}, "package": "new"}, "capabilities": []}}\r\n',
    );
    b.close();
  } finally {
    await proxy.close();
    await up.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('maxClients: N clients are served, one more is closed at once', () =>
  withProxy({ maxClients: 2 }, async ({ proxy, sock }) => {
    const a = await QmpClient.connect(sock);
    const b = await QmpClient.connect(sock);
    assert.equal(proxy.clientCount, 2);
    const third = connect(sock);
    const got = await new Promise<string>((resolve) => {
      let data = '';
      third.on('data', (d) => {
        data += String(d);
      });
      third.on('close', () => resolve(data));
      third.on('error', () => {});
    });
    assert.equal(got, '', 'the third client is closed without a greeting');
    // Alone in flight, it goes up without an id (the proxy's session uses idlessInBand).
    assert.deepEqual(await a.executeRaw('ping'), { id: 'none' });
    await b.close();
    await until(() => proxy.clientCount === 1, 5000, 'the client count to drop');
    const c = await QmpClient.connect(sock);
    assert.deepEqual(await c.executeRaw('ping'), { id: 'none' });
    await a.close();
    await c.close();
  }));

test('maxClientEventBuffer: N events waiting for a client that does not read are kept, one more disconnects it', () =>
  withProxy({ maxClientEventBuffer: 3 }, async ({ proxy, sock }) => {
    const slow = await RawPeer.open(sock);
    await slow.greeting();
    await slow.exchange('{"execute":"qmp_capabilities"}\n');
    slow.pause();
    const reader = await QmpClient.connect(sock, { maxMessageBytes: 4 << 20 });
    let seen = 0;
    reader.on('*', () => {
      seen++;
    });
    // 1 MiB events: the kernel's socket buffer cannot take even one, so each one the slow client
    // does not read stays in the proxy.
    await reader.executeRaw('big-events', { count: 3 });
    await until(() => seen === 3, 10000, 'three events at the reader');
    assert.equal(proxy.clientCount, 2, 'three waiting events: the slow client stays');
    await reader.executeRaw('big-events', { count: 1 });
    await until(() => seen === 4, 10000, 'the fourth event at the reader');
    await until(() => proxy.clientCount === 1, 5000, 'the slow client to be disconnected');
    assert.deepEqual(await reader.executeRaw('ping'), { id: 'none' }, 'the others go on');
    slow.close();
    await reader.close();
  }));
