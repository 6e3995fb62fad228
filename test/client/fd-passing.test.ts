// File-descriptor passing on the client side, without QEMU: the fd channel over a real unix socket
// (bytes and descriptors in order under backpressure, a partial write finished), the tracker's rule of
// one request with descriptors in flight, and every way passing is refused before anything is sent.
import assert from 'node:assert/strict';
import { closeSync, fstatSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { QmpClient } from '../../src/client/index.js';
import { RequestTracker } from '../../src/client/request-tracker.js';
import { QmpFdPassingError, QmpLimitError, QmpUsageError } from '../../src/errors/index.js';
import { MAX_FDS_PER_REQUEST } from '../../src/limits.js';
import { startSimulator } from '../../src/simulator/index.js';
import type { QmpFdAddon } from '../../src/transport/fd-addon.js';
import { fdChannelFor } from '../../src/transport/fd-socket.js';
import { duplexPair } from '../helpers/duplex-pair.js';
import { assertNoFdLeak, openFds, requireFdAddon } from '../helpers/fds.js';
import { pendingCall } from '../helpers/pending-call.js';
import { deadline } from '../helpers/strays.js';

let dir = '';
let file = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'qmpkit-fds-'));
  file = join(dir, 'payload');
  writeFileSync(file, 'payload');
});
after(() => rmSync(dir, { recursive: true, force: true }));

const call = pendingCall;

test('RequestTracker: one request with descriptors in flight; what follows it waits in order, OOB without fds overtakes', () => {
  const t = new RequestTracker();
  const a = call(t, 'getfd', { fds: [0] });
  const b = call(t, 'add-fd', { fds: [0] });
  const c = call(t, 'query-status');
  const d = call(t, 'yank', { oob: true });
  assert.deepEqual(t.add(a), [a]);
  assert.deepEqual(t.add(b), [], 'a second request with descriptors waits for the first one reply');
  assert.deepEqual(t.add(c), [], 'a request after a held one keeps its place');
  assert.deepEqual(t.add(d), [d], 'exec-oob without descriptors overtakes');
  const m = t.match(a.id);
  assert.equal(m.kind, 'call');
  assert.deepEqual(m.kind === 'call' ? m.write : [], [b, c], 'the reply to a lets b go, then c');
  // A given-up request with descriptors keeps the next one waiting until its late reply.
  const e = call(t, 'getfd', { fds: [0] });
  assert.deepEqual(t.add(e), []);
  t.abandon(b);
  assert.equal(t.match(c.id).kind, 'call');
  const late = t.match(b.id);
  assert.equal(late.kind, 'late');
  assert.deepEqual(late.kind === 'late' ? late.write : [], [e]);
});

/** A unix server whose accepted socket Node never reads: the test reads it with recvmsg. */
async function rawPair(): Promise<{ client: Socket; peerFd: number; server: Server; peer: Socket }> {
  const path = join(dir, `raw-${Math.random().toString(36).slice(2)}.sock`);
  const server = createServer({ pauseOnConnect: true });
  await new Promise<void>((r) => server.listen(path, r));
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const client = connect(path);
  await new Promise<void>((r, j) => client.once('connect', r).once('error', j));
  const peer = await accepted;
  const peerFd = (peer as unknown as { _handle: { fd: number } })._handle.fd;
  return { client, peerFd, server, peer };
}

/** Reads `total` bytes with recvmsg, recording at which offsets descriptors arrived. */
async function readAll(
  addon: QmpFdAddon,
  fd: number,
  total: number,
): Promise<{ data: Buffer; fdsAt: Array<{ start: number; end: number; fds: number[] }> }> {
  const parts: Buffer[] = [];
  const fdsAt: Array<{ start: number; end: number; fds: number[] }> = [];
  let got = 0;
  while (got < total) {
    const r = addon.recvWithFds(fd, 65536);
    if (r === null) {
      await new Promise((res) => setImmediate(res));
      continue;
    }
    if (r.data.length === 0) break;
    if (r.fds.length > 0) fdsAt.push({ start: got, end: got + r.data.length, fds: r.fds });
    parts.push(r.data);
    got += r.data.length;
  }
  return { data: Buffer.concat(parts), fdsAt };
}

test('the fd channel: queued bytes first, the request with its descriptor, then what was written after; under backpressure', async (t) => {
  const addon = requireFdAddon(t);
  if (!addon) return;
  const fdsBefore = openFds();
  const { client, peerFd, server, peer } = await rawPair();
  const passed = openSync(file, 'r');
  try {
    const status = fdChannelFor(client);
    assert.ok(status.ok, status.ok ? '' : status.reason);
    // More than the socket buffers hold: the stream queues the rest, and sendmsg must wait for it.
    const first = Buffer.alloc(4 * 1024 * 1024, 'a');
    client.write(first);
    assert.ok(client.writableLength > 0, 'the stream holds queued bytes');
    const line = Buffer.from(`{"execute":"getfd","arguments":{"fdname":"x"},"id":1}\n${'b'.repeat(300_000)}`);
    const sent = status.channel.send(line, [passed]);
    const reading = readAll(addon, peerFd, first.length + line.length + 5);
    await deadline(sent, 20_000, 'send with fds');
    client.write('after');
    const { data, fdsAt } = await deadline(reading, 20_000, 'read back');
    assert.equal(data.length, first.length + line.length + 5);
    assert.ok(data.subarray(0, first.length).equals(first), 'the queued bytes come first, whole');
    assert.ok(data.subarray(first.length, first.length + line.length).equals(line), 'then the request, whole');
    assert.equal(data.subarray(first.length + line.length).toString(), 'after');
    assert.equal(fdsAt.length, 1, 'one message carried descriptors');
    const got = fdsAt[0];
    assert.ok(got !== undefined && got.fds.length === 1);
    assert.ok(got.start <= first.length && first.length < got.end, 'the descriptor came with the request first byte');
    const received = got.fds[0] as number;
    assert.equal(fstatSync(received).ino, fstatSync(passed).ino, 'the same open file');
    closeSync(received);
  } finally {
    closeSync(passed);
    client.destroy();
    peer.destroy();
    await new Promise((r) => server.close(r));
  }
  await assertNoFdLeak(fdsBefore, 'fd channel');
});

test('passing is refused before sending: TCP, a Duplex, QMPKIT_NO_NATIVE=1, a closed descriptor, one past the limit', async () => {
  const fdsBefore = openFds();
  const sock = join(dir, 'sim.sock');
  const sim = await startSimulator({ qmp: [`tcp:127.0.0.1:0,server=on,wait=off`, `unix:${sock},server=on,wait=off`] });
  const passed = openSync(file, 'r');
  try {
    const tcp = sim.monitors[0]?.address;
    assert.ok(tcp?.kind === 'tcp');
    const overTcp = await QmpClient.connect(`${tcp.host}:${tcp.port}`, { timeoutMs: 5000 });
    await assert.rejects(overTcp.execute('getfd', { fdname: 'x' }, { fds: [passed] }), (e: unknown) => {
      assert.ok(e instanceof QmpFdPassingError);
      assert.equal(e.code, 'QMP_ERR_FD_UNAVAILABLE');
      assert.match(e.reason, /TCP, not a unix socket/);
      assert.match(e.message, /^Cannot pass file descriptors with getfd: /);
      return true;
    });
    assert.deepEqual(await overTcp.execute('query-fdsets'), [], 'the session is unharmed');
    await overTcp.close();

    const [a, b] = duplexPair();
    const serving = sim.server.serve(b);
    const overDuplex = await QmpClient.connect(a, { timeoutMs: 5000 });
    await assert.rejects(
      overDuplex.execute('add-fd', {}, { fds: [passed] }),
      (e: unknown) => e instanceof QmpFdPassingError && /a stream, not a unix socket/.test(e.reason),
    );
    await overDuplex.close();
    await serving;

    const saved = process.env['QMPKIT_NO_NATIVE'];
    process.env['QMPKIT_NO_NATIVE'] = '1';
    try {
      const noAddon = await QmpClient.connect(sock, { timeoutMs: 5000 });
      await assert.rejects(
        noAddon.execute('getfd', { fdname: 'x' }, { fds: [passed] }),
        (e: unknown) => e instanceof QmpFdPassingError && /QMPKIT_NO_NATIVE=1/.test(e.reason),
      );
      await noAddon.close();
    } finally {
      if (saved === undefined) delete process.env['QMPKIT_NO_NATIVE'];
      else process.env['QMPKIT_NO_NATIVE'] = saved;
    }

    const qmp = await QmpClient.connect(sock, { timeoutMs: 5000 });
    const closed = openSync(file, 'r');
    closeSync(closed);
    await assert.rejects(
      qmp.execute('getfd', { fdname: 'x' }, { fds: [closed] }),
      (e: unknown) => e instanceof QmpUsageError && new RegExp(`fd ${closed} is not an open`).test(e.message),
    );
    await assert.rejects(
      qmp.execute('getfd', { fdname: 'x' }, { fds: [-1] }),
      (e: unknown) => e instanceof QmpUsageError && /not -1/.test(e.message),
    );
    const tooMany = Array.from({ length: MAX_FDS_PER_REQUEST + 1 }, () => passed);
    await assert.rejects(qmp.execute('getfd', { fdname: 'x' }, { fds: tooMany }), (e: unknown) => {
      assert.ok(e instanceof QmpLimitError);
      assert.equal(e.limit, 'maxFdsPerRequest');
      assert.equal(e.max, MAX_FDS_PER_REQUEST);
      return true;
    });
    assert.deepEqual(await qmp.execute('query-fdsets'), [], 'the session is unharmed');
    await qmp.close();
    const low = await QmpClient.connect(sock, { timeoutMs: 5000, maxFdsPerRequest: 1 });
    await assert.rejects(
      low.execute('getfd', { fdname: 'x' }, { fds: [passed, passed] }),
      (e: unknown) => e instanceof QmpLimitError && e.max === 1,
    );
    await low.close();
  } finally {
    closeSync(passed);
    await sim.close();
  }
  await assertNoFdLeak(fdsBefore, 'refusals');
});

test('at the limit: a request with MAX_FDS_PER_REQUEST descriptors is sent', async (t) => {
  if (!requireFdAddon(t)) return;
  const fdsBefore = openFds();
  const sock = join(dir, 'sim-limit.sock');
  const sim = await startSimulator({ qmp: [`unix:${sock},server=on,wait=off`] });
  const fds = Array.from({ length: MAX_FDS_PER_REQUEST }, () => openSync(file, 'r'));
  try {
    const qmp = await QmpClient.connect(sock, { timeoutMs: 5000 });
    // The simulator keeps the first under the name and closes the others, as QEMU does.
    assert.deepEqual(await qmp.execute('getfd', { fdname: 'x' }, { fds }), {});
    assert.deepEqual(await qmp.execute('closefd', { fdname: 'x' }), {});
    assert.equal((await qmp.execute('query-status')).status, 'running');
    await qmp.close();
  } finally {
    for (const fd of fds) closeSync(fd);
    await sim.close();
  }
  await assertNoFdLeak(fdsBefore, 'at the limit');
});
