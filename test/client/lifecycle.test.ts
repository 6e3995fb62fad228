import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { QmpClient } from '../../src/client/index.js';
import {
  QmpAbortedError,
  QmpCommandError,
  QmpConnectionError,
  QmpLimitError,
  QmpProtocolError,
  QmpStateError,
  QmpTimeoutError,
  QmpUsageError,
} from '../../src/errors/index.js';
import { MAX_TOKEN_BYTES } from '../../src/limits.js';
import { FakeQmp, GREETING, within } from './fake-qmp.js';

test('good connect: greeting, negotiation with oob, a command', async () => {
  const fake = new FakeQmp();
  fake.onRequest = (req, f) =>
    f.reply(req, req.execute === 'query-status' ? { status: 'running', singlestep: false, running: true } : {});
  const qmp = await QmpClient.connect(fake.client, { timeoutMs: 2000 });
  assert.equal(qmp.state, 'ready');
  assert.deepEqual(qmp.greeting, GREETING);
  assert.equal(qmp.oobEnabled, true);
  assert.deepEqual(fake.requests[0], { execute: 'qmp_capabilities', arguments: { enable: ['oob'] }, id: 1 });
  assert.deepEqual(await qmp.execute('query-status'), { status: 'running', singlestep: false, running: true });
  await qmp.close();
  assert.equal(qmp.state, 'closed');
  await assert.rejects(
    qmp.execute('query-status'),
    (e: unknown) => e instanceof QmpStateError && e.code === 'QMP_ERR_CLOSED',
  );
});

test('negotiate: false skips qmp_capabilities; oob: false does not enable oob', async () => {
  const a = new FakeQmp();
  const qa = await QmpClient.connect(a.client, { negotiate: false });
  assert.equal(a.requests.length, 0);
  assert.equal(qa.state, 'ready');
  await qa.close();
  const b = new FakeQmp();
  const qb = await QmpClient.connect(b.client, { oob: false });
  assert.deepEqual(b.requests[0], { execute: 'qmp_capabilities', id: 1 });
  assert.equal(qb.oobEnabled, false);
  await assert.rejects(
    qb.executeOob('migrate-pause'),
    (e: unknown) => e instanceof QmpStateError && e.code === 'QMP_ERR_STATE',
  );
  await qb.close();
});

test('refused connects name the address: ENOENT and ECONNREFUSED', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-c-'));
  try {
    const path = join(dir, 'nope.sock');
    await assert.rejects(QmpClient.connect(path, { timeoutMs: 2000 }), (e: unknown) => {
      assert.ok(e instanceof QmpConnectionError);
      assert.equal(e.code, 'QMP_ERR_CONNECT');
      assert.equal(e.syscallCode, 'ENOENT');
      assert.ok(e.message.includes(path));
      return true;
    });
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    await new Promise<void>((r) => srv.close(() => r()));
    await assert.rejects(QmpClient.connect(`127.0.0.1:${port}`, { timeoutMs: 2000 }), (e: unknown) => {
      assert.ok(e instanceof QmpConnectionError);
      assert.equal(e.syscallCode, 'ECONNREFUSED');
      assert.ok(e.message.includes(`127.0.0.1:${port}`));
      return true;
    });
    await assert.rejects(QmpClient.connect('tcp:nohost', {}), QmpUsageError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a server that never greets times out with QMP_ERR_CONNECT_TIMEOUT, not a millisecond early', async (t) => {
  // Mocked clock: the deadline is checked at its edge, whatever the machine's load.
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const fake = new FakeQmp({ greeting: false });
  let outcome: unknown;
  const seen = (): unknown => outcome;
  const settled = QmpClient.connect(fake.client, { timeoutMs: 150 }).then(
    () => (outcome = 'connected'),
    (e: unknown) => (outcome = e),
  );
  const turns = async (): Promise<void> => {
    for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
  };
  await turns();
  t.mock.timers.tick(149);
  await turns();
  assert.equal(seen(), undefined, 'still waiting 1 ms before the deadline');
  t.mock.timers.tick(1);
  await turns();
  const e = seen();
  assert.ok(e instanceof QmpTimeoutError, String(e));
  assert.equal(e.code, 'QMP_ERR_CONNECT_TIMEOUT');
  await settled;
  assert.ok(fake.client.destroyed, 'the socket is closed');
});

test('a server that greets with garbage is a protocol error', async () => {
  const fake = new FakeQmp({ greeting: { hello: 1 } });
  await assert.rejects(
    QmpClient.connect(fake.client, { timeoutMs: 1000 }),
    (e: unknown) => e instanceof Error && 'code' in e && e.code === 'QMP_ERR_PROTOCOL',
  );
});

test('events before the greeting and before the qmp_capabilities reply do not break the session', async () => {
  const fake = new FakeQmp({ greeting: false });
  fake.event('RTC_CHANGE', { offset: 1, 'qom-path': '/x' });
  fake.send(GREETING);
  fake.onRequest = (req, f) => {
    f.event('STOP');
    f.reply(req, {});
  };
  const qmp = await QmpClient.connect(fake.client, { timeoutMs: 1000 });
  const seen: string[] = [];
  qmp.on('*', (e) => seen.push(e.event));
  const stopped = qmp.waitForEvent('STOP', { timeoutMs: 1000 });
  await qmp.execute('stop');
  await stopped;
  assert.deepEqual(seen, ['STOP']);
  await qmp.close();
});

test('pipelined commands are matched by id, whatever the reply order', async () => {
  const fake = new FakeQmp();
  const held: Array<{ id?: unknown; n: unknown }> = [];
  fake.onRequest = (req, f) => {
    if (req.execute === 'qmp_capabilities') return f.reply(req, {});
    held.push({ id: req.id, n: req.arguments?.['n'] });
    if (held.length === 50) for (const h of held.reverse()) f.send({ return: { n: h.n }, id: h.id });
  };
  const qmp = await QmpClient.connect(fake.client, { oob: false });
  const calls = Array.from({ length: 50 }, (_, n) => qmp.executeRaw('echo', { n }));
  const results = await Promise.all(calls);
  assert.deepEqual(
    results,
    Array.from({ length: 50 }, (_, n) => ({ n })),
  );
  await qmp.close();
});

test('an error reply rejects with QmpCommandError keeping class, desc and the command', async () => {
  const fake = new FakeQmp();
  fake.onRequest = (req, f) =>
    req.execute === 'eject' ? f.error(req, 'DeviceNotFound', "Device 'x' not found") : f.reply(req, {});
  const qmp = await QmpClient.connect(fake.client);
  await assert.rejects(qmp.executeRaw('eject', { id: 'x' }), (e: unknown) => {
    assert.ok(e instanceof QmpCommandError);
    assert.equal(e.code, 'QMP_ERR_COMMAND');
    assert.equal(e.errorClass, 'DeviceNotFound');
    assert.equal(e.desc, "Device 'x' not found");
    assert.equal(e.command, 'eject');
    assert.deepEqual(e.arguments, { id: 'x' });
    return true;
  });
  await qmp.close();
});

test('an id-less reply is never handed to a caller: it ends the session and every call rejects', async () => {
  const fake = new FakeQmp();
  fake.onRequest = (req, f) => {
    if (req.execute === 'qmp_capabilities') return f.reply(req, {});
    if (req.execute === 'b') f.send({ error: { class: 'GenericError', desc: 'JSON parse error, expecting value' } });
  };
  const qmp = await QmpClient.connect(fake.client, { oob: false });
  const a = qmp.executeRaw('a');
  const b = qmp.executeRaw('b');
  for (const p of [a, b])
    await assert.rejects(
      p,
      (e: unknown) => e instanceof QmpProtocolError && e.code === 'QMP_ERR_PROTOCOL' && /without an id/.test(e.message),
    );
  const reason = await qmp.closed;
  assert.ok(reason instanceof QmpProtocolError);
  assert.equal(qmp.state, 'closed');
});

test("an id-less reply with exactly one command in flight is that command's", async () => {
  const fake = new FakeQmp();
  fake.onRequest = (req, f) => {
    if (req.execute === 'qmp_capabilities') return f.send({ return: {} });
    f.send({ error: { class: 'GenericError', desc: 'JSON parse error, expecting value' } });
  };
  const qmp = await QmpClient.connect(fake.client, { oob: false });
  assert.equal(qmp.state, 'ready', 'negotiation answered without an id');
  await assert.rejects(qmp.executeRaw('a'), (e: unknown) => e instanceof QmpCommandError && e.command === 'a');
  assert.equal(qmp.state, 'ready');
  await qmp.close();
});

test('replies with unknown ids are dropped, not fatal', async () => {
  const fake = new FakeQmp();
  fake.onRequest = (req, f) => {
    if (req.execute === 'x') f.send({ return: {}, id: 'nobody' });
    f.reply(req, { ok: 1 });
  };
  const qmp = await QmpClient.connect(fake.client);
  assert.deepEqual(await qmp.executeRaw('x'), { ok: 1 });
  assert.equal(qmp.state, 'ready');
  await qmp.close();
});

test('per-call timeout and abort reject with their own errors; late replies are discarded by id', async () => {
  const fake = new FakeQmp();
  const late: Array<{ id?: unknown }> = [];
  fake.onRequest = (req, f) => {
    if (req.execute === 'slow') late.push(req);
    else f.reply(req, { fast: true });
  };
  const qmp = await QmpClient.connect(fake.client, { oob: false });
  const t = await within(qmp.executeRaw('slow', {}, { timeoutMs: 50 }), 1000);
  assert.ok(t.error instanceof QmpTimeoutError && t.error.code === 'QMP_ERR_TIMEOUT');
  const ac = new AbortController();
  const p = qmp.executeRaw('slow', {}, { signal: ac.signal });
  await fake.waitRequests(3);
  ac.abort(new Error('user gave up'));
  await assert.rejects(p, (e: unknown) => e instanceof QmpAbortedError && e.code === 'QMP_ERR_ABORTED');
  const preAborted = AbortSignal.abort();
  await assert.rejects(qmp.executeRaw('x', {}, { signal: preAborted }), QmpAbortedError);
  for (const r of late) fake.reply(r, { late: true });
  assert.deepEqual(await qmp.executeRaw('next'), { fast: true });
  assert.equal(qmp.pendingCount, 0);
  await qmp.close();
});

test('disconnect mid-pipeline: every pending call rejects at once, iterators end, waits reject', async () => {
  const fake = new FakeQmp();
  fake.onRequest = (req, f) => {
    if (req.execute === 'qmp_capabilities') f.reply(req, {});
  };
  const qmp = await QmpClient.connect(fake.client, { oob: false });
  const calls = Array.from({ length: 20 }, () => qmp.executeRaw('query-status'));
  const iter = qmp.events();
  const next = iter.next();
  const wait = qmp.waitForEvent('STOP');
  await fake.waitRequests(21);
  fake.server.destroy();
  // Settled by the disconnect itself, not by a timer: a deadline, not a measured time.
  const results = (await within(Promise.allSettled(calls), 2000)).value ?? [];
  assert.equal(results.length, calls.length);
  for (const r of results) {
    assert.equal(r.status, 'rejected');
    const e = (r as PromiseRejectedResult).reason as QmpConnectionError;
    assert.ok(e instanceof QmpConnectionError);
    assert.equal(e.code, 'QMP_ERR_DISCONNECTED');
    assert.match(e.message, /may or may not have run/);
  }
  assert.deepEqual(await next, { value: undefined, done: true });
  await assert.rejects(wait, QmpConnectionError);
  const reason = await qmp.closed;
  assert.ok(reason instanceof QmpConnectionError);
  assert.equal(qmp.state, 'closed');
});

test('EOF after quit is success', async () => {
  const fake = new FakeQmp();
  fake.onRequest = (req, f) => {
    if (req.execute === 'quit') {
      f.event('SHUTDOWN', { guest: false, reason: 'host-qmp-quit' });
      f.server.destroy();
      return;
    }
    f.reply(req, {});
  };
  const qmp = await QmpClient.connect(fake.client);
  assert.deepEqual(await qmp.execute('quit'), {});
  assert.equal(await qmp.closed, undefined);
});

test('with OOB, at most 8 in-band commands are written; exec-oob overtakes the held ones', async () => {
  const fake = new FakeQmp();
  const waiting: Array<{ id?: unknown }> = [];
  fake.onRequest = (req, f) => {
    if (req.execute === 'qmp_capabilities') return f.reply(req, {});
    if (req['exec-oob']) return f.reply(req, { oob: true });
    waiting.push(req);
  };
  const qmp = await QmpClient.connect(fake.client);
  const calls = Array.from({ length: 20 }, (_, i) => qmp.executeRaw('query-name', { i }));
  await fake.waitRequests(9);
  assert.equal(fake.requests.length, 9, '8 in-band + negotiation');
  assert.deepEqual(await qmp.executeOob('migrate-pause'), { oob: true });
  while (waiting.length > 0) {
    fake.reply(waiting.shift()!, {});
    if (waiting.length === 0 && fake.requests.length < 22) await fake.waitRequests(fake.requests.length + 1);
  }
  await Promise.all(calls);
  const order = fake.requests.filter((r) => r.execute === 'query-name').map((r) => r.arguments?.['i']);
  assert.deepEqual(
    order,
    Array.from({ length: 20 }, (_, i) => i),
  );
  await qmp.close();
});

test('maxMessageBytes: a reply past the limit fails the session with QMP_ERR_LIMIT', async () => {
  const fake = new FakeQmp();
  fake.onRequest = (req, f) => f.reply(req, req.execute === 'big' ? 'x'.repeat(200) : {});
  const qmp = await QmpClient.connect(fake.client, { maxMessageBytes: 200 });
  await assert.rejects(
    qmp.executeRaw('big'),
    (e: unknown) => e instanceof QmpLimitError && e.limit === 'maxMessageBytes',
  );
  assert.equal(qmp.state, 'closed');
  assert.ok((await qmp.closed) instanceof QmpLimitError);
});

test('maxPendingCommands: at the limit works, one past rejects and the session survives', async () => {
  const fake = new FakeQmp();
  const held: Array<{ id?: unknown }> = [];
  fake.onRequest = (req, f) => {
    if (req.execute === 'qmp_capabilities' || held.length >= 3) f.reply(req, { n: req.execute });
    else held.push(req);
  };
  const qmp = await QmpClient.connect(fake.client, { maxPendingCommands: 3, oob: false });
  const ok = [qmp.executeRaw('a'), qmp.executeRaw('b'), qmp.executeRaw('c')];
  await assert.rejects(
    qmp.executeRaw('d'),
    (e: unknown) => e instanceof QmpLimitError && e.limit === 'maxPendingCommands',
  );
  await fake.waitRequests(4);
  for (const h of held) fake.reply(h, {});
  await Promise.all(ok);
  assert.deepEqual(await qmp.executeRaw('e'), { n: 'e' });
  await qmp.close();
});

test('events(): names filter, bounded buffer with a dropped count; waitForEvent match', async () => {
  const fake = new FakeQmp();
  const qmp = await QmpClient.connect(fake.client);
  const it = qmp.events({ names: ['DEVICE_TRAY_MOVED'], maxQueuedEvents: 2 });
  const trayOpen = qmp.waitForEvent('DEVICE_TRAY_MOVED', { match: { 'tray-open': true }, timeoutMs: 1000 });
  const byFn = qmp.waitForEvent('DEVICE_TRAY_MOVED', { match: (e) => e.data?.id === 'cd2', timeoutMs: 1000 });
  for (const [id, open] of [
    ['cd0', false],
    ['cd1', true],
    ['cd2', false],
  ] as const) {
    fake.event('DEVICE_TRAY_MOVED', { device: '', id, 'tray-open': open });
  }
  fake.event('STOP');
  assert.equal((await trayOpen).data?.id, 'cd1');
  assert.equal((await byFn).data?.id, 'cd2');
  await qmp.executeRaw('sync');
  assert.equal(it.dropped, 1);
  assert.equal((await it.next()).value?.data?.id, 'cd1');
  assert.equal((await it.next()).value?.data?.id, 'cd2');
  await assert.rejects(qmp.waitForEvent('RESUME', { timeoutMs: 30 }), QmpTimeoutError);
  await qmp.close();
  assert.equal((await it.next()).done, true);
});

test('ids of answered commands are reused, so requests stay short; a timed-out id is not', async () => {
  const fake = new FakeQmp();
  let hold: { id?: unknown } | undefined;
  fake.onRequest = (req, f) => {
    if (req.execute === 'slow') hold = req;
    else f.reply(req, {});
  };
  const qmp = await QmpClient.connect(fake.client, { oob: false });
  for (let i = 0; i < 20; i++) await qmp.execute('query-status');
  const ids = fake.requests.map((r) => r.id);
  assert.deepEqual(new Set(ids), new Set([1]), 'one id, over and over');
  // Two in flight get two ids.
  await Promise.all([qmp.execute('query-status'), qmp.execute('query-name')]);
  assert.deepEqual(
    fake.requests.slice(-2).map((r) => r.id),
    [1, 2],
  );
  // A timed-out command's id stays taken until its late reply has come.
  await assert.rejects(qmp.executeRaw('slow', {}, { timeoutMs: 20 }), QmpTimeoutError);
  const slowId = hold?.id;
  await qmp.execute('query-status');
  assert.notEqual(fake.requests.at(-1)?.id, slowId);
  fake.reply({ id: slowId }, {});
  await qmp.execute('query-status');
  await qmp.execute('query-status');
  assert.ok(
    fake.requests.slice(-2).some((r) => r.id === slowId),
    'once its late reply came, the id is used again',
  );
  await qmp.close();
});

test('executeText: arguments go as given, the return comes back as the server wrote it', async () => {
  const fake = new FakeQmp();
  fake.onRequest = (req, f) => {
    if (req.execute === 'qmp_capabilities') return f.reply(req, {});
    if (req.execute === 'pretty')
      return f.sendRaw(
        `{\r\n    "return": {\r\n        "b": [\r\n            1,\r\n            2\r\n        ],\r\n        "a": {\r\n        }\r\n    },\r\n    "id": ${String(req.id)}\r\n}\r\n`,
      );
    if (req.execute === 'bad') return f.error(req, 'GenericError', 'nope');
    if (req['exec-oob']) return f.sendRaw(`{"id": ${String(req.id)}, "return": {"oob": true}}\r\n`);
    f.sendRaw(
      `{"return": {"status": "running", "singlestep": false, "n": 1.0, "big": 18446744073709551615}, "id": ${String(req.id)}}\r\n`,
    );
  };
  const qmp = await QmpClient.connect(fake.client);
  assert.equal(
    await qmp.executeText('query-status'),
    '{"status": "running", "singlestep": false, "n": 1.0, "big": 18446744073709551615}',
  );
  assert.equal(fake.lines.at(-1), '{"execute":"query-status","id":1}', 'no empty arguments');
  await qmp.executeText('x', '{"f":1.0,"b":2}');
  assert.equal(fake.lines.at(-1), '{"execute":"x","arguments":{"f":1.0,"b":2},"id":1}');
  assert.equal(await qmp.executeText('pretty'), '{"b": [1, 2], "a": {}}');
  assert.equal(await qmp.executeText('yank', undefined, { oob: true }), '{"oob": true}');
  assert.equal(fake.lines.at(-1), '{"exec-oob":"yank","id":1}');
  await assert.rejects(qmp.executeText('bad'), (e: unknown) => e instanceof QmpCommandError && e.desc === 'nope');
  await assert.rejects(qmp.executeText('x', '[1]'), QmpUsageError);
  await qmp.close();
  await assert.rejects(qmp.executeText('x'), QmpStateError);
});

test('event handlers get the event text as the server wrote it', async () => {
  const fake = new FakeQmp();
  const qmp = await QmpClient.connect(fake.client);
  const got = new Promise<[string, string]>((resolve) => qmp.on('*', (e, text) => resolve([e.event, text])));
  const line = '{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "STOP"}';
  fake.sendRaw(`${line}\r\n`);
  assert.deepEqual((await within(got, 2000)).value, ['STOP', line]);
  await qmp.close();
});

test('executeText frames exactly one JSON object or refuses before a byte is written', async () => {
  const fake = new FakeQmp();
  const qmp = await QmpClient.connect(fake.client);
  const before = fake.lines.length;
  for (const text of ['{}}{"execute":"stop"}{"a":1}', '{} {}', '{"a":1', '[1]', '1', '', '{"a":1}x']) {
    await assert.rejects(qmp.executeText('query-name', text), QmpUsageError, text);
  }
  assert.equal(await qmp.executeText('query-name', ' {"a": {"b": [1]}}\n'), '{}');
  assert.equal(fake.lines.length, before + 1, 'only the valid one was written');
  assert.equal(fake.lines.at(-1), '{"execute":"query-name","arguments":{"a": {"b": [1]}},"id":1}');
  assert.ok(fake.requests.every((r) => r.execute !== 'stop'));
  await qmp.close();
});

test('a throwing event handler goes to onListenerError, the others still get the event', async () => {
  const fake = new FakeQmp();
  const reported: Array<[unknown, string]> = [];
  const qmp = await QmpClient.connect(fake.client, {
    onListenerError: (error, event) => reported.push([error, event.event]),
  });
  const boom = new Error('boom');
  qmp.on('STOP', () => {
    throw boom;
  });
  const other = qmp.waitForEvent('STOP', { timeoutMs: 2000 });
  fake.event('STOP');
  await other;
  assert.deepEqual(reported, [[boom, 'STOP']]);
  await qmp.close();
});

test('by default a throwing handler becomes a QMPKIT_LISTENER_ERROR warning and a diagnostics message', async () => {
  const { subscribe, unsubscribe } = await import('node:diagnostics_channel');
  const { LISTENER_ERROR_CHANNEL } = await import('../../src/client/index.js');
  const fake = new FakeQmp();
  const qmp = await QmpClient.connect(fake.client);
  const published: unknown[] = [];
  const onMessage = (m: unknown): void => void published.push(m);
  subscribe(LISTENER_ERROR_CHANNEL, onMessage);
  const warned = new Promise<Error & { code?: string }>((r) => process.once('warning', r));
  qmp.on('*', () => {
    throw new Error('bad handler');
  });
  fake.event('RESUME');
  const w = (await within(warned, 2000)).value;
  unsubscribe(LISTENER_ERROR_CHANNEL, onMessage);
  assert.equal(w?.code, 'QMPKIT_LISTENER_ERROR');
  assert.match(w?.message ?? '', /RESUME.*bad handler/s);
  assert.equal(published.length, 1);
  await qmp.close();
});

test('a waitForEvent nobody awaits, iterators and pipelined calls never leave unhandled rejections when the session dies', async () => {
  const fake = new FakeQmp();
  fake.onRequest = (req, f) => {
    if (req.execute === 'qmp_capabilities') f.reply(req, {});
  };
  const qmp = await QmpClient.connect(fake.client);
  // Armed and never awaited (the pattern the docs recommend, interrupted by a crash).
  void qmp.waitForEvent('STOP');
  void qmp.waitForEvent('SHUTDOWN', { timeoutMs: 1 });
  const it = qmp.events();
  const pending = [qmp.execute('query-status'), qmp.executeRaw('x'), qmp.executeText('y')];
  await fake.waitRequests(4);
  fake.drop();
  assert.ok((await qmp.closed) instanceof QmpConnectionError);
  assert.equal((await it.next()).done, true);
  // Awaited late, each still rejects for its caller.
  for (const p of pending) await assert.rejects(p, QmpConnectionError);
  // Run under --unhandled-rejections=strict: a stray rejection fails the run before this line.
  await new Promise((r) => setImmediate(r));
});

test('a message that is both a reply and an event, or return and error, ends the session with QMP_ERR_PROTOCOL', async () => {
  for (const bad of [
    (id: unknown) => ({ event: 'STOP', timestamp: { seconds: 1, microseconds: 2 }, return: {}, id }),
    (id: unknown) => ({ return: {}, error: { class: 'GenericError', desc: 'x' }, id }),
  ]) {
    const fake = new FakeQmp();
    fake.onRequest = (req, f) => (req.execute === 'qmp_capabilities' ? f.reply(req, {}) : f.send(bad(req.id)));
    const qmp = await QmpClient.connect(fake.client);
    await assert.rejects(
      qmp.execute('query-status'),
      (e: unknown) => e instanceof QmpProtocolError && e.code === 'QMP_ERR_PROTOCOL',
    );
    assert.ok((await qmp.closed) instanceof QmpProtocolError);
  }
});

test('a malformed message mid-session fails every pending call with QMP_ERR_JSON', async () => {
  const fake = new FakeQmp();
  fake.onRequest = (req, f) => {
    if (req.execute === 'qmp_capabilities') f.reply(req, {});
    else if (req.execute === 'b') f.sendRaw('{"return": nope}\r\n');
  };
  const qmp = await QmpClient.connect(fake.client);
  const a = qmp.executeRaw('a');
  const b = qmp.executeRaw('b');
  for (const p of [a, b])
    await assert.rejects(p, (e: unknown) => e instanceof QmpProtocolError && e.code === 'QMP_ERR_JSON');
  assert.equal(qmp.state, 'closed');
});

test('commandTimeoutMs is the default deadline; a per-call timeoutMs overrides it', async () => {
  const fake = new FakeQmp();
  fake.onRequest = (req, f) => {
    if (req.execute === 'qmp_capabilities' || req.execute === 'fast') f.reply(req, {});
  };
  const qmp = await QmpClient.connect(fake.client, { commandTimeoutMs: 30 });
  await assert.rejects(qmp.executeRaw('slow'), (e: unknown) => e instanceof QmpTimeoutError && e.timeoutMs === 30);
  await assert.rejects(
    qmp.executeRaw('slow', {}, { timeoutMs: 5 }),
    (e: unknown) => e instanceof QmpTimeoutError && e.timeoutMs === 5,
  );
  assert.deepEqual(await qmp.executeRaw('fast'), {});
  await qmp.close();
});

test('maxPendingCommands counts a sent, timed-out call until its late reply', async () => {
  const fake = new FakeQmp();
  const held: Array<{ id?: unknown }> = [];
  fake.onRequest = (req, f) => (req.execute === 'qmp_capabilities' ? f.reply(req, {}) : void held.push(req));
  const qmp = await QmpClient.connect(fake.client, { maxPendingCommands: 1 });
  await assert.rejects(qmp.executeRaw('a', {}, { timeoutMs: 5 }), QmpTimeoutError);
  await assert.rejects(
    qmp.executeRaw('b'),
    (e: unknown) => e instanceof QmpLimitError && e.limit === 'maxPendingCommands',
  );
  fake.reply(held[0] ?? {}, {});
  await fake.waitRequests(2);
  const b = qmp.executeRaw('b');
  await fake.waitRequests(3);
  fake.reply(held[1] ?? {}, { b: 1 });
  assert.deepEqual(await b, { b: 1 });
  await qmp.close();
});

test('close() against a peer that never closes: destroyed after closeTimeoutMs', async () => {
  const fake = new FakeQmp();
  // The peer reads but never ends its side.
  const qmp = await QmpClient.connect(fake.client, { closeTimeoutMs: 50 });
  fake.server.removeAllListeners('end');
  const r = await within(qmp.close(), 5000);
  assert.equal(r.error, undefined);
  assert.equal(fake.client.destroyed, true);
  assert.equal(qmp.state, 'closed');
});

test('onClose: called once with the reason; registering after the end still calls it', async () => {
  const fake = new FakeQmp();
  const qmp = await QmpClient.connect(fake.client);
  const reasons: unknown[] = [];
  qmp.onClose((r) => reasons.push(r));
  qmp.onClose(() => {
    throw new Error('a faulty close handler does not stop the others');
  });
  fake.drop();
  await qmp.closed;
  assert.equal(reasons.length, 1);
  assert.ok(reasons[0] instanceof QmpConnectionError);
  const late = await new Promise((r) => qmp.onClose(r));
  assert.equal(late, reasons[0]);
});

test('a request QEMU would cut (a token past 64 MiB as encoded) is refused with QMP_ERR_LIMIT before a byte is written', async () => {
  const fake = new FakeQmp();
  const qmp = await QmpClient.connect(fake.client);
  const before = fake.lines.length;
  // The smuggling shape: a string QEMU would cut, whose tail reads as a command of its own. (0x7F
  // escaped as \u007f counts six bytes: see core-units; plain bytes keep this test fast.)
  const value = `${'a'.repeat(MAX_TOKEN_BYTES)}{'execute':'stop'}`;
  await assert.rejects(
    qmp.executeRaw('qom-set', { path: '/machine', property: 'x', value }),
    (e: unknown) => e instanceof QmpLimitError && e.code === 'QMP_ERR_LIMIT' && e.limit === 'maxTokenBytes',
  );
  await assert.rejects(
    qmp.executeText('x', `{"v":[${'['.repeat(1100)}${']'.repeat(1100)}]}`),
    (e: unknown) => e instanceof QmpLimitError && e.limit === 'maxDepth',
  );
  assert.deepEqual(await qmp.execute('query-status'), {} as never, 'the session goes on');
  assert.equal(fake.lines.length, before + 1);
  assert.equal(qmp.pendingCount, 0);
  await qmp.close();
});
