// Replies to requests read together leave in one write when their handlers answer at once, on a
// plain server and on the simulator (whose handlers put results in schema order first); a handler
// that answers later still gets its reply in order.
import assert from 'node:assert/strict';
import type { Duplex } from 'node:stream';
import { test } from 'node:test';
import { QmpServer } from '../../src/server/index.js';
import { startSimulator } from '../../src/simulator/index.js';
import { duplexPair, RawClient } from './helpers.js';

/** Counts the writes the server side hands to its stream. */
function countWrites(stream: Duplex): { readonly count: number } {
  const counter = { count: 0 };
  const write = stream.write.bind(stream) as (...a: unknown[]) => boolean;
  stream.write = ((...a: unknown[]) => {
    counter.count++;
    return write(...a);
  }) as typeof stream.write;
  return counter;
}

async function negotiated(serve: (s: Duplex) => void): Promise<{ client: RawClient; writes: { count: number } }> {
  const [a, b] = duplexPair();
  const writes = countWrites(a);
  serve(a);
  const client = new RawClient(b);
  await client.next();
  assert.equal(await client.ask('{"execute":"qmp_capabilities","arguments":{"enable":["oob"]}}'), '{"return": {}}');
  return { client, writes };
}

const burst = (n: number, cmd: string): string =>
  Array.from({ length: n }, (_, i) => `{"execute":"${cmd}","id":${i}}\n`).join('');

test('a server answers 8 requests read in one chunk with one write when its handlers answer at once', async () => {
  const server = new QmpServer();
  server.register('now', () => ({ at: 'once' }));
  const { client, writes } = await negotiated((s) => server.serve(s));
  const before = writes.count;
  client.send(burst(8, 'now'));
  const lines = await client.waitLines(2 + 8);
  assert.deepEqual(
    lines.slice(2),
    Array.from({ length: 8 }, (_, i) => `{"return": {"at": "once"}, "id": ${i}}`),
  );
  assert.equal(writes.count - before, 1);
  await server.close();
});

test('the simulator answers 8 query-status read in one chunk with one write, in QEMU member order', async () => {
  const sim = await startSimulator({ argv: ['-machine', 'none'] });
  try {
    const { client, writes } = await negotiated((s) => sim.server.serve(s));
    const before = writes.count;
    client.send(burst(8, 'query-status'));
    const lines = await client.waitLines(2 + 8);
    assert.deepEqual(
      lines.slice(2),
      Array.from(
        { length: 8 },
        (_, i) => `{"return": {"status": "running", "singlestep": false, "running": true}, "id": ${i}}`,
      ),
    );
    assert.equal(writes.count - before, 1);
  } finally {
    await sim.close();
  }
});

test('a reply that comes later still follows the ones before it and precedes the ones after it', async () => {
  const server = new QmpServer();
  server.register('now', () => ({}));
  server.register('later', () => new Promise((resolve) => setImmediate(() => resolve({ later: true }))));
  const { client } = await negotiated((s) => server.serve(s));
  client.send('{"execute":"now","id":1}\n{"execute":"later","id":2}\n{"execute":"now","id":3}\n');
  const lines = await client.waitLines(2 + 3);
  assert.deepEqual(lines.slice(2), [
    '{"return": {}, "id": 1}',
    '{"return": {"later": true}, "id": 2}',
    '{"return": {}, "id": 3}',
  ]);
  await server.close();
});
