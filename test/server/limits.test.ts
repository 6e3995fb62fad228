// The server's limits at the edge and one past: QEMU's lexer limits (nesting, token count, token
// bytes) with QEMU's errors and recovery, and the waiting/flush limits of monitors and close().
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CLOSE_FLUSH_TIMEOUT_MS, MAX_DEPTH, MAX_OUTPUT_BYTES, MAX_TOKEN_BYTES, MAX_TOKENS } from '../../src/limits.js';
import { QmpServer, type QmpServerOptions } from '../../src/server/index.js';
import { duplexPair, RawClient, withDeadline } from './helpers.js';

async function negotiated(options: QmpServerOptions = {}): Promise<{ server: QmpServer; c: RawClient }> {
  const server = new QmpServer(options);
  server.register('query-name', () => ({}));
  const [a, b] = duplexPair();
  server.serve(b);
  const c = new RawClient(a);
  await c.next();
  assert.equal(await c.ask('{"execute":"qmp_capabilities"}'), '{"return": {}}');
  return { server, c };
}

const err = (desc: string): string => `{"error": {"class": "GenericError", "desc": "${desc}"}}`;
const EXPECTING = err('JSON parse error, expecting value');

/** Reads lines until one has `"id": "after"`; returns the lines before it. */
async function untilAfter(c: RawClient): Promise<string[]> {
  c.send('{"execute":"query-name","id":"after"}\n');
  const seen: string[] = [];
  for (;;) {
    const line = await c.next();
    if (line === '{"return": {}, "id": "after"}') return seen;
    seen.push(line);
  }
}

describe('nesting depth (QEMU: 1024)', () => {
  test(`the default is ${MAX_DEPTH}: depth 1024 is echoed, 1025 is refused, then QEMU's cascade and recovery`, async () => {
    const { server, c } = await negotiated();
    const id = (k: number): string => `${'['.repeat(k)}${']'.repeat(k)}`;
    // The object itself is one level.
    c.send(`{"execute":"query-name","id":${id(1023)}}\n`);
    const echoed = await c.next();
    assert.equal(echoed, `{"return": {}, "id": ${'['.repeat(1023)}${']'.repeat(1023)}}`);
    c.send(`{"execute":"query-name","id":${id(1024)}}\n`);
    const lines = await untilAfter(c);
    assert.deepEqual(lines, [err('JSON nesting depth limit exceeded'), ...Array(1025).fill(EXPECTING)]);
    await server.close();
  });

  test('maxDepth sets it: depth maxDepth works, maxDepth + 1 is refused', async () => {
    const { server, c } = await negotiated({ maxDepth: 3 });
    assert.equal(await c.ask('{"execute":"query-name","id":[[1]]}'), '{"return": {}, "id": [[1]]}');
    c.send('{"execute":"query-name","id":[[[1]]]}\n');
    // Refused at the third '['; the rest is lexed anew: 1 is a non-object, then four closers.
    assert.deepEqual(await untilAfter(c), [
      err('JSON nesting depth limit exceeded'),
      err('QMP input must be a JSON object'),
      EXPECTING,
      EXPECTING,
      EXPECTING,
      EXPECTING,
    ]);
    await server.close();
  });
});

describe('token count (QEMU: 2 Mi)', () => {
  test(`the default is ${MAX_TOKENS}`, () => {
    assert.equal(MAX_TOKENS, 2 * 1024 * 1024);
  });

  // {"execute":"query-name","id":[1,1,...]} has 2n + 9 tokens.
  const request = (n: number): string => `{"execute":"query-name","id":[${Array(n).fill('1').join(',')}]}`;

  test('maxTokens sets it: a request of exactly maxTokens tokens works, one token more is refused', async () => {
    for (const [maxTokens, accepted] of [
      [23, true],
      [22, false],
    ] as const) {
      const { server, c } = await negotiated({ maxTokens });
      const reply = await c.ask(request(7));
      if (accepted) assert.equal(reply, `{"return": {}, "id": [${Array(7).fill('1').join(', ')}]}`);
      else assert.equal(reply, err('JSON token count limit exceeded'));
      // Refused at the final '}', so nothing is left over: the session answers at once.
      assert.deepEqual(await untilAfter(c), []);
      await server.close();
    }
  });
});

describe('token bytes (QEMU: 64 MiB)', () => {
  test(`the default is ${MAX_TOKEN_BYTES}`, () => {
    assert.equal(MAX_TOKEN_BYTES, 64 * 1024 * 1024);
  });

  // Token bytes of {"execute":"query-name","id":"x…"} with k x's: 32 + k (whitespace is not a token).
  const request = (k: number): string => `{"execute": "query-name", "id": "${'x'.repeat(k)}"}`;

  test('maxTokenBytes sets it: like QEMU, a request is refused once its tokens plus one reach the limit', async () => {
    const { server, c } = await negotiated({ maxTokenBytes: 100 });
    assert.equal(await c.ask(request(67)), `{"return": {}, "id": "${'x'.repeat(67)}"}`);
    // 68 x's: 100 token bytes; QEMU's check (size + token + 1 > max) refuses it at the final '}'.
    assert.equal(await c.ask(request(68)), err('JSON token size limit exceeded'));
    assert.deepEqual(await untilAfter(c), []);
    await server.close();
  });
});

describe('close flush timeout', () => {
  test(`close() delivers pending output to a reading client; a non-reading one is cut after closeFlushTimeoutMs (default ${CLOSE_FLUSH_TIMEOUT_MS})`, async (t) => {
    const server = new QmpServer({ closeFlushTimeoutMs: 50 });
    const [a, b] = duplexPair(1);
    const session = server.serve(b);
    const [c2a, c2b] = duplexPair();
    server.serve(c2b);
    const reader = new RawClient(c2a);
    await reader.next();
    // The flush timeout runs on a mocked clock: "waited for it" is checked at its edge, not measured.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let closed = false;
    const closing = server.close().then(() => {
      closed = true;
    });
    const turns = async (): Promise<void> => {
      for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
    };
    await turns();
    t.mock.timers.tick(49);
    await turns();
    assert.equal(b.destroyed, false, 'waited for the flush timeout');
    assert.equal(closed, false);
    t.mock.timers.tick(1);
    t.mock.timers.reset();
    await withDeadline(closing, 5000, 'server close');
    assert.ok(session.closed);
    await reader.waitEnd();
    a.destroy();
  });
});

describe('close flush timeout at the edge', () => {
  for (const timeoutMs of [100, CLOSE_FLUSH_TIMEOUT_MS]) {
    test(`a client that does not take its output keeps its connection ${timeoutMs - 1} ms into close(), loses it at ${timeoutMs} ms`, async (t) => {
      t.mock.timers.enable({ apis: ['setTimeout'] });
      const server = new QmpServer(timeoutMs === CLOSE_FLUSH_TIMEOUT_MS ? {} : { closeFlushTimeoutMs: timeoutMs });
      // The peer holds at most 1 byte and never reads: the greeting stays unflushed.
      const [a, b] = duplexPair(1);
      const session = server.serve(b);
      const closed = server.close();
      t.mock.timers.tick(timeoutMs - 1);
      assert.equal(b.destroyed, false);
      t.mock.timers.tick(1);
      assert.equal(b.destroyed, true);
      await closed;
      assert.equal(session.closed, true);
      a.destroy();
    });
  }
});

describe('output cap (maxOutputBytes)', () => {
  test(`the default is ${MAX_OUTPUT_BYTES}`, () => {
    assert.equal(MAX_OUTPUT_BYTES, 16 * 1024 * 1024);
  });

  // A negotiated client that never reads; 'ev' events of one known size are emitted one per turn,
  // so the output is held back and joined, not written message by message.
  const event = '{"timestamp": {"seconds": 1, "microseconds": 0}, "event": "X_EV", "data": {"n": 0}}\r\n';
  for (const [extra, disconnected] of [
    [0, false],
    [1, true],
  ] as const) {
    test(`with ${extra === 0 ? 'exactly maxOutputBytes' : 'one byte more than maxOutputBytes'} queued the client ${disconnected ? 'is disconnected at once' : 'stays connected'}; another client stays served`, async () => {
      const greeting =
        '{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": ""}, "capabilities": ["oob"]}}\r\n';
      const events = 40;
      const queued = greeting.length + '{"return": {}}\r\n'.length + events * event.length;
      const server = new QmpServer({ maxOutputBytes: queued - extra, clock: () => 1_000_000 });
      server.register('query-name', () => ({}));
      // The idle peer holds at most 1 byte and never reads.
      const [a, b] = duplexPair(1);
      const session = server.serve(b);
      const closed = new Promise<Error | undefined>((r) => session.once('close', (e) => r(e)));
      a.write('{"execute":"qmp_capabilities"}\n');
      await withDeadline(
        new Promise<void>((r) => {
          const check = (): void => (session.negotiated ? r() : void setImmediate(check));
          check();
        }),
        5000,
        'negotiation',
      );
      const [ra, rb] = duplexPair();
      server.serve(rb);
      const reader = new RawClient(ra);
      await reader.next();
      assert.equal(await reader.ask('{"execute":"qmp_capabilities"}'), '{"return": {}}');
      for (let n = 0; n < events; n++) {
        server.emit('X_EV', { n: 0 });
        assert.equal(await reader.next(), event.slice(0, -2));
        if (n < events - 1) assert.equal(session.closed, false, `closed after ${n + 1} events`);
      }
      if (disconnected) {
        // Cut off by the emit that would have passed the cap, before anything was queued.
        assert.equal(session.closed, true);
        const e = await withDeadline(closed, 5000, 'disconnect');
        assert.equal((e as { code?: string } | undefined)?.code, 'QMP_ERR_LIMIT');
      } else {
        assert.equal(session.closed, false);
      }
      // The other client is still served.
      assert.equal(await reader.ask('{"execute":"query-name"}'), '{"return": {}}');
      a.destroy();
      await server.close();
    });
  }
});
