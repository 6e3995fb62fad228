import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { TlsWakeupStream } from '../../src/transport/tls-wakeup.js';
import { duplexPair } from '../helpers/duplex-pair.js';

/** A wrapper over one end of an in-memory pair; `records` are the writes that reached the peer. */
function setup(): {
  wrapper: TlsWakeupStream;
  peer: ReturnType<typeof duplexPair>[1];
  records: string[];
  out: { n: number };
} {
  const [sock, peer] = duplexPair();
  const records: string[] = [];
  peer.on('data', (d: Buffer) => records.push(d.toString()));
  const wrapper = new TlsWakeupStream(sock);
  const out = { n: 0 };
  wrapper.watchOutstanding(() => out.n);
  return { wrapper, peer, records, out };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('each write is followed by a separate one-byte record', async () => {
  const { wrapper, records } = setup();
  wrapper.write('{"execute":"a","id":1}\n');
  await tick();
  assert.deepEqual(records, ['{"execute":"a","id":1}\n', '\n']);
  wrapper.destroy();
});

test('a chunk read while requests are outstanding is answered with a wake-up at once; none when nothing is', async () => {
  const { wrapper, peer, records, out } = setup();
  const got: string[] = [];
  wrapper.on('data', (d: Buffer) => got.push(d.toString()));
  out.n = 1;
  peer.write('{"return": {}, "id": 1}\r\n');
  await tick();
  assert.deepEqual(got, ['{"return": {}, "id": 1}\r\n'], 'the data passes through');
  assert.deepEqual(records, ['\n']);
  out.n = 0;
  peer.write('{"event": "STOP"}\r\n');
  await tick();
  assert.deepEqual(records, ['\n'], 'nothing outstanding: no wake-up');
  wrapper.destroy();
});

test('while requests wait and nothing comes back, wake-ups back off from 2 ms to 200 ms; they stop when none wait', async (t) => {
  mock.timers.enable({ apis: ['setTimeout'] });
  t.after(() => mock.timers.reset());
  const { wrapper, records, out } = setup();
  out.n = 1;
  wrapper.write('x\n');
  await tick();
  assert.deepEqual(records, ['x\n', '\n']);
  const wakeupsAfter = async (ms: number): Promise<number> => {
    const before = records.length;
    mock.timers.tick(ms);
    await tick();
    return records.length - before;
  };
  assert.equal(await wakeupsAfter(1), 0);
  assert.equal(await wakeupsAfter(1), 1, 'at 2 ms');
  assert.equal(await wakeupsAfter(3), 0);
  assert.equal(await wakeupsAfter(1), 1, 'then 4 ms later');
  // 8, 16, 32, 64, 128, then 200 each time.
  for (const d of [8, 16, 32, 64, 128, 200, 200]) assert.equal(await wakeupsAfter(d), 1, `after ${d} ms`);
  out.n = 0;
  assert.equal(await wakeupsAfter(200), 0, 'no request waits: no more wake-ups');
  assert.equal(await wakeupsAfter(1000), 0);
  wrapper.destroy();
});

test('end, error and destroy pass through', async () => {
  const { wrapper, peer } = setup();
  const ended = new Promise<void>((r) => wrapper.once('end', r));
  wrapper.resume();
  peer.end();
  await ended;
  const closed = new Promise<void>((r) => wrapper.once('close', r));
  wrapper.destroy();
  await closed;
  assert.equal(wrapper.destroyed, true);
});
