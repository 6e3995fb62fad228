// The client under faults, on an in-memory duplex: every way a session can go wrong or end, with
// calls, waiters and iterators outstanding. Each test checks that every caller gets its own reply or
// its own error exactly once, and that nothing reaches the process as an unhandled rejection or an
// uncaught exception.
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { test } from 'node:test';
import { QmpClient, type QmpClientOptions } from '../../src/client/index.js';
import * as errors from '../../src/errors/index.js';
import {
  QmpAbortedError,
  QmpCommandError,
  QmpConnectionError,
  QmpError,
  QmpProtocolError,
  QmpStateError,
  QmpTimeoutError,
} from '../../src/errors/index.js';
import { prng } from '../helpers/prng.js';
import { deadline, loopTurns, outcome, StrayWatch } from '../helpers/strays.js';
import { FakeQmp, GREETING, type Request } from './fake-qmp.js';

const LIMIT_MS = 5000;

/** The client options of the fault contract: `onListenerError` receives what an `on()` handler throws. */
type ContractOptions = QmpClientOptions & {
  onListenerError?: (error: unknown, event: { event: string }) => void;
};

/** A fake that answers negotiation and holds every other request until the test answers it. */
function holdingFake(): { fake: FakeQmp; held: Request[] } {
  const fake = new FakeQmp();
  const held: Request[] = [];
  fake.onRequest = (req, f) => {
    if (req.execute === 'qmp_capabilities') f.reply(req, {});
    else held.push(req);
  };
  return { fake, held };
}

function isDisconnected(e: unknown): boolean {
  return e instanceof QmpConnectionError && e.code === 'QMP_ERR_DISCONNECTED';
}

test('malformed JSON mid-session ends the session: each outstanding call, waiter and iterator settles once', async () => {
  const strays = new StrayWatch();
  try {
    const { fake } = holdingFake();
    const qmp = await QmpClient.connect(fake.client, { oob: false, timeoutMs: LIMIT_MS });
    const calls = [qmp.executeRaw('a'), qmp.executeRaw('b'), qmp.executeRaw('c')];
    const waiter = qmp.waitForEvent('SHUTDOWN');
    const it = qmp.events();
    const next = it.next();
    await deadline(fake.waitRequests(4), LIMIT_MS, 'three requests written');
    fake.sendRaw('{"return": {}, "id": 1, oops}\r\n');
    const reason = await deadline(qmp.closed, LIMIT_MS, 'session end');
    assert.ok(reason instanceof QmpProtocolError, `ended with ${String(reason)}`);
    assert.equal(qmp.state, 'closed');
    await strays.assertNone('calls and a waiter left unawaited when the session broke');
    for (const [i, p] of calls.entries()) {
      const r = await outcome(p, LIMIT_MS, `call ${i}`);
      assert.equal(r.ok, false, `call ${i} must not resolve: its reply never came`);
      const e = (r as { error: unknown }).error;
      assert.ok(e instanceof QmpError && !(e instanceof QmpCommandError), `call ${i}: ${String(e)}`);
    }
    const w = await outcome(waiter, LIMIT_MS, 'waiter');
    assert.equal(w.ok, false);
    assert.deepEqual(await deadline(next, LIMIT_MS, 'iterator'), { value: undefined, done: true });
    assert.equal(qmp.pendingCount, 0);
  } finally {
    strays.stop();
  }
});

for (const [what, reply] of [
  ['return', { return: {} }],
  ['error', { error: { class: 'GenericError', desc: 'JSON parse error, expecting value' } }],
] as const) {
  test(`an id-less ${what} reply while commands wait ends the session with QmpProtocolError; nobody takes it`, async () => {
    const strays = new StrayWatch();
    try {
      const { fake } = holdingFake();
      const qmp = await QmpClient.connect(fake.client, { oob: false, timeoutMs: LIMIT_MS });
      const first = qmp.executeRaw('first');
      const second = qmp.executeRaw('second');
      await deadline(fake.waitRequests(3), LIMIT_MS, 'two requests written');
      fake.send(reply);
      const reason = await deadline(qmp.closed, LIMIT_MS, 'session end');
      assert.ok(reason instanceof QmpProtocolError, `ended with ${String(reason)}`);
      for (const [name, p] of [
        ['first', first],
        ['second', second],
      ] as const) {
        const r = await outcome(p, LIMIT_MS, name);
        assert.equal(r.ok, false, `${name} must not get a reply without an id`);
        const e = (r as { error: unknown }).error;
        assert.ok(!(e instanceof QmpCommandError), `${name} must not get the id-less error reply: ${String(e)}`);
        assert.ok(e instanceof QmpError, `${name}: ${String(e)}`);
      }
      await strays.assertNone('id-less reply');
    } finally {
      strays.stop();
    }
  });
}

test('idlessInBand: one in-band request goes without an id and takes the id-less reply; the others keep theirs', async () => {
  const { fake, held } = holdingFake();
  const qmp = await QmpClient.connect(fake.client, { oob: false, timeoutMs: LIMIT_MS, idlessInBand: true });
  const first = qmp.executeRaw('first', { n: 1 });
  const second = qmp.executeRaw('second', { n: 2 });
  await deadline(fake.waitRequests(3), LIMIT_MS, 'two requests written');
  assert.equal(held[0]?.id, undefined, 'the first request has no id');
  assert.equal(typeof held[1]?.id, 'number', 'the second, sent while the first is out, has one');
  // Answer in the other order: the id names the second, the id-less reply is the first's.
  fake.reply(held[1]!, { n: 2 });
  fake.send({ return: { n: 1 } });
  assert.deepEqual(await deadline(Promise.all([first, second]), LIMIT_MS, 'replies'), [{ n: 1 }, { n: 2 }]);
  const third = qmp.executeRaw('third');
  await deadline(fake.waitRequests(4), LIMIT_MS, 'third written');
  assert.equal(held[2]?.id, undefined, 'with nothing out, the next request goes without an id again');
  fake.send({ return: { n: 3 } });
  assert.deepEqual(await deadline(third, LIMIT_MS, 'third'), { n: 3 });
  assert.equal(qmp.state, 'ready');
  await qmp.close();
});

test('replies with ids nobody is waiting for are dropped; the waiting and later calls get their own replies', async () => {
  const { fake, held } = holdingFake();
  const qmp = await QmpClient.connect(fake.client, { oob: false, timeoutMs: LIMIT_MS });
  const waiting = qmp.executeRaw('waiting', { n: 0 });
  await deadline(fake.waitRequests(2), LIMIT_MS, 'request written');
  const id = held[0]?.id;
  assert.equal(typeof id, 'number');
  // Ids the client may hand out next, and ids it never uses.
  for (const stray of [Number(id) + 1, Number(id) + 2, 'nobody', -1, 0.5, { id }, [id]])
    fake.send({ return: { stray: true }, id: stray });
  fake.reply(held[0]!, { n: 0 });
  assert.deepEqual(await deadline(waiting, LIMIT_MS, 'own reply'), { n: 0 });
  const later = [qmp.executeRaw('later', { n: 1 }), qmp.executeRaw('later', { n: 2 })];
  await deadline(fake.waitRequests(4), LIMIT_MS, 'two more requests');
  for (const r of held.slice(1).reverse()) fake.reply(r, { n: r.arguments?.['n'] });
  assert.deepEqual(await deadline(Promise.all(later), LIMIT_MS, 'later replies'), [{ n: 1 }, { n: 2 }]);
  assert.equal(qmp.state, 'ready');
  assert.equal(qmp.pendingCount, 0);
  await qmp.close();
});

test('ids: under seeded churn with aborts, no request reuses an id the server has not answered yet', async () => {
  const seed = 0x5eed11;
  const rand = prng(seed);
  const fake = new FakeQmp();
  const unanswered = new Map<unknown, Request>();
  const violations: string[] = [];
  fake.onRequest = (req, f) => {
    if (req.execute === 'qmp_capabilities') return f.reply(req, {});
    if (typeof req.id !== 'number' || !Number.isSafeInteger(req.id) || req.id < 0)
      violations.push(`bad id ${JSON.stringify(req.id)}`);
    if (unanswered.has(req.id)) violations.push(`id ${String(req.id)} reused before its reply`);
    unanswered.set(req.id, req);
  };
  const qmp = await QmpClient.connect(fake.client, { oob: false, timeoutMs: LIMIT_MS });
  type Call = { n: number; abort: AbortController; aborted: boolean; settled: Promise<void> };
  const calls: Call[] = [];
  const wrong: string[] = [];
  let sent = 0;
  for (let step = 0; step < 600; step++) {
    const r = rand();
    if (r < 0.45 || unanswered.size === 0) {
      const n = step;
      const abort = new AbortController();
      const call: Call = {
        n,
        abort,
        aborted: false,
        settled: qmp.executeRaw('echo', { n }, { signal: abort.signal }).then(
          (v) => {
            if (JSON.stringify(v) !== JSON.stringify({ n })) wrong.push(`call ${n} got ${JSON.stringify(v)}`);
          },
          (e: unknown) => {
            if (!(call.aborted && e instanceof QmpAbortedError)) wrong.push(`call ${n} failed: ${String(e)}`);
          },
        ),
      };
      calls.push(call);
      sent++;
      await deadline(fake.waitRequests(sent + 1), LIMIT_MS, `request ${n} written`);
    } else if (r < 0.65) {
      const live = calls.filter((c) => !c.aborted);
      const c = live[Math.floor(rand() * live.length)];
      if (c) {
        c.aborted = true;
        c.abort.abort();
      }
    } else {
      const ids = [...unanswered.keys()];
      const id = ids[Math.floor(rand() * ids.length)];
      const req = unanswered.get(id)!;
      unanswered.delete(id);
      fake.reply(req, { n: req.arguments?.['n'] });
      await loopTurns(1);
    }
  }
  assert.deepEqual(violations, [], `seed ${seed}`);
  for (const req of unanswered.values()) fake.reply(req, { n: req.arguments?.['n'] });
  unanswered.clear();
  await deadline(Promise.all(calls.map((c) => c.settled)), LIMIT_MS, 'every call settled');
  assert.deepEqual(wrong, [], `seed ${seed}`);
  assert.equal(qmp.pendingCount, 0);
  await qmp.close();
});

test('commandTimeoutMs: the default deadline fires, a per-call one overrides it, late replies are discarded', async () => {
  const { fake, held } = holdingFake();
  const qmp = await QmpClient.connect(fake.client, { oob: false, timeoutMs: LIMIT_MS, commandTimeoutMs: 40 });
  const short = qmp.executeRaw('slow', { n: 1 });
  const long = qmp.executeRaw('slow', { n: 2 }, { timeoutMs: 60_000 });
  const r = await outcome(short, LIMIT_MS, 'default deadline');
  assert.ok(!r.ok && r.error instanceof QmpTimeoutError && r.error.code === 'QMP_ERR_TIMEOUT', String(r));
  // The timed-out command's reply comes late, then the other's: each goes where it belongs.
  for (const req of held) fake.reply(req, { n: req.arguments?.['n'] });
  assert.deepEqual(await deadline(long, LIMIT_MS, 'per-call deadline'), { n: 2 });
  const fast = qmp.executeRaw('fast', { n: 3 });
  await deadline(fake.waitRequests(4), LIMIT_MS, 'third request');
  fake.reply(held[2]!, { n: 3 });
  assert.deepEqual(await deadline(fast, LIMIT_MS, 'fast'), { n: 3 });
  assert.equal(qmp.state, 'ready');
  assert.equal(qmp.pendingCount, 0);
  await qmp.close();
});

test('a call that times out while held back by the in-band window is never written', async () => {
  const { fake, held } = holdingFake();
  const qmp = await QmpClient.connect(fake.client, { timeoutMs: LIMIT_MS, maxQueuedRequests: 2 });
  assert.equal(qmp.oobEnabled, true);
  const inFlight = [qmp.executeRaw('x', { n: 1 }), qmp.executeRaw('x', { n: 2 })];
  const heldBack = qmp.executeRaw('x', { n: 3 }, { timeoutMs: 30 });
  const after = qmp.executeRaw('x', { n: 4 });
  await deadline(fake.waitRequests(3), LIMIT_MS, 'two written');
  const r = await outcome(heldBack, LIMIT_MS, 'held-back call');
  assert.ok(!r.ok && r.error instanceof QmpTimeoutError);
  fake.reply(held[0]!, { n: 1 });
  fake.reply(held[1]!, { n: 2 });
  // The window is FIFO: had the timed-out call been written, it would come before n=4.
  await deadline(fake.waitRequests(4), LIMIT_MS, 'the next call written');
  assert.deepEqual(
    fake.requests.slice(1).map((q) => q.arguments?.['n']),
    [1, 2, 4],
  );
  fake.reply(held[2]!, { n: 4 });
  assert.deepEqual(await deadline(Promise.all([...inFlight, after]), LIMIT_MS, 'replies'), [
    { n: 1 },
    { n: 2 },
    { n: 4 },
  ]);
  await qmp.close();
});

test('onClose: each handler once with the reason, late registration too; unsubscribe works; a throwing one harms nobody', async () => {
  const strays = new StrayWatch();
  try {
    const { fake } = holdingFake();
    const qmp = await QmpClient.connect(fake.client, { timeoutMs: LIMIT_MS });
    const got: unknown[] = [];
    qmp.onClose((reason) => got.push(reason));
    qmp.onClose(() => {
      throw new Error('close handler bug');
    });
    const off = qmp.onClose(() => got.push('unsubscribed handler ran'));
    off();
    fake.drop();
    const reason = await deadline(qmp.closed, LIMIT_MS, 'session end');
    assert.ok(isDisconnected(reason), String(reason));
    const late = await deadline(new Promise((resolve) => qmp.onClose(resolve)), LIMIT_MS, 'late onClose');
    assert.equal(late, reason);
    await qmp.close();
    await strays.assertNone('a throwing close handler');
    assert.deepEqual(got, [reason]);
    // A clean close: the reason is undefined everywhere.
    const b = holdingFake();
    const qb = await QmpClient.connect(b.fake.client, { timeoutMs: LIMIT_MS });
    const onB = new Promise((resolve) => qb.onClose(resolve));
    await qb.close();
    assert.equal(await deadline(onB, LIMIT_MS, 'onClose after close()'), undefined);
    assert.equal(await qb.closed, undefined);
  } finally {
    strays.stop();
  }
});

test('after close() no event reaches handlers or iterators, even one the peer sent before it saw the end', async () => {
  const { fake } = holdingFake();
  const qmp = await QmpClient.connect(fake.client, { timeoutMs: LIMIT_MS });
  const seen: string[] = [];
  qmp.on('*', (e) => seen.push(`${e.event} while ${qmp.state}`));
  const it = qmp.events();
  const resumed = qmp.waitForEvent('RESUME', { timeoutMs: LIMIT_MS });
  fake.event('RESUME');
  await deadline(resumed, LIMIT_MS, 'RESUME');
  const closing = qmp.close();
  fake.event('STOP');
  await deadline(closing, LIMIT_MS, 'close()');
  assert.deepEqual(seen, ['RESUME while ready']);
  assert.equal((await deadline(it.next(), LIMIT_MS, 'iterator')).value?.event, 'RESUME');
  assert.deepEqual(await deadline(it.next(), LIMIT_MS, 'iterator end'), { value: undefined, done: true });
});

/**
 * A peer that answers negotiation, then stops reading (write callbacks never run) and never
 * finishes its side: only destroying the stream ends it.
 */
function stubbornPeer(): Duplex {
  let buf = '';
  let negotiated = false;
  const peer: Duplex = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      if (negotiated) return; // never acknowledged
      buf += chunk.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl === -1) return cb();
      const req = JSON.parse(buf.slice(0, nl)) as Request;
      negotiated = true;
      peer.push(`${JSON.stringify({ return: {}, id: req.id })}\r\n`);
      cb();
    },
    final() {}, // never finishes
  });
  peer.push(`${JSON.stringify(GREETING)}\r\n`);
  return peer;
}

test('close() against a peer that never reads nor closes resolves; outstanding calls reject QMP_ERR_CLOSED', async () => {
  const strays = new StrayWatch();
  try {
    const qmp = await QmpClient.connect(stubbornPeer(), { oob: false, timeoutMs: LIMIT_MS });
    const calls = [qmp.executeRaw('a'), qmp.executeRaw('b', { big: 'x'.repeat(100_000) })];
    const waiter = qmp.waitForEvent('STOP');
    await loopTurns();
    await deadline(Promise.all([qmp.close(), qmp.close()]), LIMIT_MS * 2, 'close()');
    assert.equal(qmp.state, 'closed');
    assert.equal(await qmp.closed, undefined);
    await strays.assertNone('calls left unawaited over close()');
    for (const p of calls) {
      const r = await outcome(p, LIMIT_MS, 'call');
      assert.ok(!r.ok && r.error instanceof QmpStateError && r.error.code === 'QMP_ERR_CLOSED', String(r));
    }
    assert.equal((await outcome(waiter, LIMIT_MS, 'waiter')).ok, false);
    const after = await outcome(qmp.executeRaw('c'), LIMIT_MS, 'after close');
    assert.ok(!after.ok && after.error instanceof QmpStateError && after.error.code === 'QMP_ERR_CLOSED');
  } finally {
    strays.stop();
  }
});

test('a throwing on() handler is reported to onListenerError; other handlers, waiters and iterators still get the event', async () => {
  const strays = new StrayWatch();
  try {
    const fake = new FakeQmp();
    const reported: Array<[unknown, string]> = [];
    let bothReported!: () => void;
    const twoReports = new Promise<void>((r) => {
      bothReported = r;
    });
    const options: ContractOptions = {
      timeoutMs: LIMIT_MS,
      onListenerError: (error: unknown, event: { event: string }) => {
        reported.push([error, event.event]);
        if (reported.length === 2) bothReported();
      },
    };
    const qmp = await QmpClient.connect(fake.client, options);
    const named = new Error('named handler bug');
    const any = new Error('wildcard handler bug');
    qmp.on('STOP', () => {
      throw named;
    });
    qmp.on('*', () => {
      throw any;
    });
    const seen: string[] = [];
    qmp.on('STOP', (e) => seen.push(e.event));
    const it = qmp.events({ names: ['STOP'] });
    const waiter = qmp.waitForEvent('STOP', { timeoutMs: LIMIT_MS });
    fake.event('STOP');
    assert.equal((await deadline(waiter, LIMIT_MS, 'waiter')).event, 'STOP');
    assert.equal((await deadline(it.next(), LIMIT_MS, 'iterator')).value?.event, 'STOP');
    await deadline(twoReports, LIMIT_MS, 'both errors reported');
    assert.deepEqual(seen, ['STOP']);
    assert.deepEqual(
      new Set(reported.map(([e, name]) => `${name}:${(e as Error).message}`)),
      new Set(['STOP:named handler bug', 'STOP:wildcard handler bug']),
    );
    await strays.assertNone('throwing handlers');
    assert.deepEqual(await deadline(qmp.executeRaw('still-working'), LIMIT_MS, 'next command'), {});
    await qmp.close();
  } finally {
    strays.stop();
  }
});

test('a throwing on() handler without onListenerError is a QMPKIT_LISTENER_ERROR warning, not an uncaught exception', async () => {
  const strays = new StrayWatch();
  let onWarning: ((w: Error & { code?: string }) => void) | undefined;
  try {
    const warned = new Promise<Error & { code?: string }>((resolve) => {
      onWarning = (w) => {
        if (w.code === 'QMPKIT_LISTENER_ERROR') resolve(w);
      };
      process.on('warning', onWarning);
    });
    const fake = new FakeQmp();
    const qmp = await QmpClient.connect(fake.client, { timeoutMs: LIMIT_MS });
    qmp.on('RESUME', () => {
      throw new Error('handler bug');
    });
    const waiter = qmp.waitForEvent('RESUME', { timeoutMs: LIMIT_MS });
    fake.event('RESUME');
    await deadline(waiter, LIMIT_MS, 'waiter');
    const w = await deadline(warned, LIMIT_MS, 'the warning');
    assert.equal(w.code, 'QMPKIT_LISTENER_ERROR');
    await strays.assertNone('a throwing handler');
    assert.equal(qmp.state, 'ready');
    await qmp.close();
  } finally {
    if (onWarning) process.off('warning', onWarning);
    strays.stop();
  }
});

const DEATHS: ReadonlyArray<[string, (fake: FakeQmp, qmp: QmpClient) => void, (e: unknown) => boolean]> = [
  ['the peer destroys the connection', (fake) => fake.drop(), isDisconnected],
  ['the peer ends its side (EOF)', (fake) => fake.server.end(), isDisconnected],
  [
    'the peer dies in the middle of a message',
    (fake) => {
      fake.sendRaw('{"return": {"par');
      fake.server.end();
    },
    (e) => e instanceof QmpError && !(e instanceof QmpCommandError),
  ],
  [
    'the user calls close()',
    (_fake, qmp) => void qmp.close(),
    (e) => e instanceof QmpStateError && e.code === 'QMP_ERR_CLOSED',
  ],
];

for (const [how, kill, expected] of DEATHS) {
  test(`${how} with unawaited pipelined calls, waiters and iterators: nothing stray, each settles with its own error`, async () => {
    const strays = new StrayWatch();
    try {
      const { fake, held } = holdingFake();
      const qmp = await QmpClient.connect(fake.client, { timeoutMs: LIMIT_MS, maxQueuedRequests: 8 });
      assert.equal(qmp.oobEnabled, true);
      // 8 written, 4 held back by the in-band window.
      const written = Array.from({ length: 8 }, (_, n) => qmp.executeRaw('x', { n }));
      const heldBack = Array.from({ length: 4 }, (_, n) => qmp.executeRaw('x', { n: 8 + n }));
      const waiters: Promise<unknown>[] = [
        qmp.waitForEvent('SHUTDOWN'),
        qmp.waitForEvent('STOP', { match: { never: true } as never }),
        qmp.waitForEvent('POWERDOWN', { timeoutMs: 60_000 }),
      ];
      const it = qmp.events({ names: ['STOP', 'RESUME'] });
      const pendingNext = it.next();
      const loop = (async () => {
        const names: string[] = [];
        for await (const e of qmp.events()) names.push(e.event);
        return names;
      })();
      await deadline(fake.waitRequests(9), LIMIT_MS, 'eight requests written');
      fake.event('STOP');
      assert.equal((await deadline(pendingNext, LIMIT_MS, 'first event')).value?.event, 'STOP');
      fake.event('RESUME');
      fake.event('STOP');
      // A command answered before the end keeps its reply; its slot lets the first held-back call go.
      fake.reply(held[0]!, { n: 0 });
      assert.deepEqual(await deadline(written[0]!, LIMIT_MS, 'answered call'), { n: 0 });
      await deadline(fake.waitRequests(10), LIMIT_MS, 'a held-back call written');
      kill(fake, qmp);
      await deadline(qmp.closed, LIMIT_MS, 'session end');
      assert.equal(qmp.state, 'closed');
      await strays.assertNone(how);
      assert.equal(fake.requests.length, 10, 'the other held-back calls never reached the wire');
      for (const [i, p] of [...written.slice(1), heldBack[0]!].entries()) {
        const r = await outcome(p, LIMIT_MS, `written call ${i + 1}`);
        assert.ok(!r.ok && expected(r.error), `written call ${i + 1}: ${String(!r.ok && r.error)}`);
        if (isDisconnected(!r.ok && r.error)) assert.match((r as { error: Error }).error.message, /may or may not/);
      }
      for (const [i, p] of heldBack.slice(1).entries()) {
        const r = await outcome(p, LIMIT_MS, `held-back call ${i}`);
        assert.ok(!r.ok && expected(r.error), `held-back call ${i}: ${String(!r.ok && r.error)}`);
      }
      for (const [i, w] of waiters.entries()) {
        const r = await outcome(w, LIMIT_MS, `waiter ${i}`);
        assert.ok(!r.ok && r.error instanceof QmpError, `waiter ${i}: ${String(r.ok || r.error)}`);
      }
      // Events that arrived before the end are still delivered, then the iteration ends.
      const rest: string[] = [];
      for (;;) {
        const n = await deadline(it.next(), LIMIT_MS, 'iterator');
        if (n.done) break;
        rest.push(n.value.event);
      }
      assert.deepEqual(rest, ['RESUME', 'STOP']);
      assert.deepEqual(await deadline(loop, LIMIT_MS, 'for-await loop'), ['STOP', 'RESUME', 'STOP']);
      assert.equal(qmp.pendingCount, 0);
    } finally {
      strays.stop();
    }
  });
}

test('waiters that are aborted, or armed after the end, and never awaited leave nothing stray', async () => {
  const strays = new StrayWatch();
  try {
    const { fake } = holdingFake();
    const qmp = await QmpClient.connect(fake.client, { timeoutMs: LIMIT_MS });
    const ac = new AbortController();
    const aborted = qmp.waitForEvent('STOP', { signal: ac.signal });
    ac.abort();
    await strays.assertNone('an aborted waiter nobody awaits');
    fake.drop();
    await deadline(qmp.closed, LIMIT_MS, 'session end');
    const afterEnd = qmp.waitForEvent('STOP');
    await strays.assertNone('a waiter armed after the end that nobody awaits');
    const a = await outcome(aborted, LIMIT_MS, 'aborted waiter');
    assert.ok(!a.ok && a.error instanceof QmpAbortedError);
    const b = await outcome(afterEnd, LIMIT_MS, 'late waiter');
    assert.ok(!b.ok && b.error instanceof QmpError, String(!b.ok && b.error));
    assert.deepEqual(await deadline(qmp.events().next(), LIMIT_MS, 'iterator after the end'), {
      value: undefined,
      done: true,
    });
  } finally {
    strays.stop();
  }
});

test('QmpInternalError is exported with the stable code QMP_ERR_INTERNAL', () => {
  const Internal = (errors as Record<string, unknown>)['QmpInternalError'];
  assert.equal(typeof Internal, 'function', 'QmpInternalError is exported');
  const e = new (Internal as new (message: string) => QmpError)('impossible transition');
  assert.ok(e instanceof QmpError);
  assert.equal(e.code, 'QMP_ERR_INTERNAL');
});
