// The dispatch strategies: pipelinedDispatch's depth (at the edge and one past it), in-order replies,
// and its refusal of a bad depth. QEMU's dispatcher (the default) is tested in protocol.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { QmpUsageError } from '../../src/errors/index.js';
import { pipelinedDispatch, QmpServer, qemuDispatch } from '../../src/server/index.js';
import { duplexPair, RawClient, withDeadline } from './helpers.js';

interface Held {
  readonly n: number;
  release(): void;
}

/** A server whose `hold` handler waits until released; `log` records starts and releases. */
function holdingServer(depth: number): {
  server: QmpServer;
  held: Held[];
  log: string[];
  started: () => Promise<void>;
} {
  const server = new QmpServer({ dispatch: pipelinedDispatch({ depth }) });
  const held: Held[] = [];
  const log: string[] = [];
  let onStart: (() => void) | undefined;
  server.register('hold', (args) => {
    const n = Number((args as { n: number }).n);
    log.push(`start ${n}`);
    onStart?.();
    return new Promise((resolve) => {
      held.push({
        n,
        release: () => {
          log.push(`release ${n}`);
          resolve({ n });
        },
      });
    });
  });
  const started = (): Promise<void> =>
    new Promise((resolve) => {
      onStart = resolve;
    });
  return { server, held, log, started };
}

async function openNegotiated(server: QmpServer, oob = false): Promise<RawClient> {
  const [a, b] = duplexPair();
  server.serve(b);
  const c = new RawClient(a);
  await c.next();
  const enable = oob ? ',"arguments":{"enable":["oob"]}' : '';
  assert.equal(await c.ask(`{"execute":"qmp_capabilities"${enable}}`), '{"return": {}}');
  return c;
}

const hold = (n: number): string => `{"execute":"hold","arguments":{"n":${n}},"id":${n}}\n`;

describe('pipelinedDispatch', () => {
  test('depth 3: three requests of one session run at once, the fourth starts once one is answered', async () => {
    const { server, held, log, started } = holdingServer(3);
    const c = await openNegotiated(server);
    // One write: a scheduler that ignored the depth would start all four in the same turn.
    let third = started();
    const waitThird = async (): Promise<void> => {
      while (held.length < 3) {
        await withDeadline(third, 5000, 'handlers started');
        third = started();
      }
    };
    c.send(hold(1) + hold(2) + hold(3) + hold(4));
    await waitThird();
    assert.deepEqual(log, ['start 1', 'start 2', 'start 3']);
    const fourth = started();
    held[0]?.release();
    assert.equal(await withDeadline(c.next(), 5000, 'reply 1'), '{"return": {"n": 1}, "id": 1}');
    await withDeadline(fourth, 5000, 'fourth started');
    assert.deepEqual(log, ['start 1', 'start 2', 'start 3', 'release 1', 'start 4']);
    // Released out of order, answered in order.
    held[3]?.release();
    held[2]?.release();
    held[1]?.release();
    assert.equal(await withDeadline(c.next(), 5000, 'reply 2'), '{"return": {"n": 2}, "id": 2}');
    assert.equal(await withDeadline(c.next(), 5000, 'reply 3'), '{"return": {"n": 3}, "id": 3}');
    assert.equal(await withDeadline(c.next(), 5000, 'reply 4'), '{"return": {"n": 4}, "id": 4}');
    await server.close();
  });

  test('depth 1 (the default): one request of a session at a time, even with OOB reading ahead', async () => {
    const { server, held, log, started } = holdingServer(1);
    // With OOB on the session reads ahead into its queue (QEMU's 8): the strategy still runs one.
    const c = await openNegotiated(server, true);
    const first = started();
    c.send(hold(1) + hold(2));
    await withDeadline(first, 5000, 'first started');
    assert.deepEqual(log, ['start 1']);
    const second = started();
    held[0]?.release();
    assert.equal(await withDeadline(c.next(), 5000, 'reply 1'), '{"return": {"n": 1}, "id": 1}');
    await withDeadline(second, 5000, 'second started');
    assert.deepEqual(log, ['start 1', 'release 1', 'start 2']);
    held[1]?.release();
    assert.equal(await withDeadline(c.next(), 5000, 'reply 2'), '{"return": {"n": 2}, "id": 2}');
    await server.close();
  });

  test('a depth that is not a positive integer is refused', () => {
    for (const depth of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => pipelinedDispatch({ depth }), QmpUsageError, `depth ${depth}`);
    }
    assert.equal(pipelinedDispatch({ depth: 1 }).name, 'pipelined');
    assert.equal(pipelinedDispatch().name, 'pipelined');
    assert.equal(qemuDispatch().name, 'qemu');
  });
});
