// Events: QEMU's timestamp split, delivery to negotiated sessions only, and QEMU 7.2's rate limits.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EVENT_THROTTLE_MS } from '../../src/limits.js';
import { QEMU_7_2_EVENT_THROTTLE, QmpServer } from '../../src/server/index.js';
import { QmpEventThrottle } from '../../src/server/qmp-event-throttle.js';
import { duplexPair, RawClient } from './helpers.js';

async function client(server: QmpServer, negotiate: boolean): Promise<RawClient> {
  const [a, b] = duplexPair();
  server.serve(b);
  const c = new RawClient(a);
  await c.next();
  if (negotiate) assert.equal(await c.ask('{"execute":"qmp_capabilities"}'), '{"return": {}}');
  return c;
}

describe('event delivery', () => {
  test('timestamps split the clock into seconds and microseconds; data is left out when absent', async () => {
    let now = 1_795_569_965_708_273;
    const server = new QmpServer({ clock: () => now });
    const c = await client(server, true);
    server.emit('STOP');
    now = 1_000_000;
    server.emit('RESET', { guest: false, reason: 'host-qmp-system-reset' });
    now = 999_999;
    server.emit('EMPTY', {});
    assert.equal(await c.next(), '{"timestamp": {"seconds": 1795569965, "microseconds": 708273}, "event": "STOP"}');
    assert.equal(
      await c.next(),
      '{"timestamp": {"seconds": 1, "microseconds": 0}, "event": "RESET", "data": {"guest": false, "reason": "host-qmp-system-reset"}}',
    );
    assert.equal(await c.next(), '{"timestamp": {"seconds": 0, "microseconds": 999999}, "event": "EMPTY", "data": {}}');
    await server.close();
  });

  test('the default clock is the wall clock', async () => {
    const server = new QmpServer();
    const c = await client(server, true);
    const before = Date.now();
    server.emit('STOP');
    const msg = (await c.nextJson()) as { timestamp: { seconds: number; microseconds: number } };
    const after = Date.now();
    const ms = msg.timestamp.seconds * 1000 + msg.timestamp.microseconds / 1000;
    // Bracketed by the clock read before the emit and after the event arrived: no assumption on
    // how long that took.
    assert.ok(ms >= before - 1 && ms <= after + 1, `timestamp ${ms} within [${before}, ${after}]`);
    assert.ok(msg.timestamp.microseconds >= 0 && msg.timestamp.microseconds < 1_000_000);
    await server.close();
  });

  test('events go to every negotiated session, never to one still negotiating (and are not kept for it)', async () => {
    const server = new QmpServer();
    const a = await client(server, true);
    const b = await client(server, true);
    const pending = await client(server, false);
    server.emit('POWERDOWN');
    assert.match(await a.next(), /"event": "POWERDOWN"/);
    assert.match(await b.next(), /"event": "POWERDOWN"/);
    assert.equal(await pending.ask('{"execute":"qmp_capabilities"}'), '{"return": {}}');
    server.emit('RESUME');
    assert.match(await pending.next(), /"event": "RESUME"/);
    assert.equal(pending.lines.length, 3, 'POWERDOWN was lost for the negotiating client');
    await server.close();
  });
});

describe('QEMU 7.2 event rate limiting', () => {
  test('the default table is QEMU 7.2 monitor_qapi_event_conf', () => {
    assert.deepEqual(QEMU_7_2_EVENT_THROTTLE, {
      RTC_CHANGE: {},
      WATCHDOG: {},
      BALLOON_CHANGE: {},
      QUORUM_REPORT_BAD: { key: 'node-name' },
      QUORUM_FAILURE: {},
      VSERPORT_CHANGE: { key: 'id' },
      MEMORY_DEVICE_SIZE_CHANGE: { key: 'qom-path' },
    });
    assert.equal(EVENT_THROTTLE_MS, 1000);
  });

  test('first at once, the latest of a burst after the interval, then the key is dropped', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const sent: unknown[] = [];
    const th = new QmpEventThrottle(QEMU_7_2_EVENT_THROTTLE, 1000, (m) => sent.push(m));
    th.offer('RTC_CHANGE', { offset: 1 }, 'rtc1');
    th.offer('RTC_CHANGE', { offset: 2 }, 'rtc2');
    th.offer('RTC_CHANGE', { offset: 3 }, 'rtc3');
    th.offer('STOP', undefined, 'stop');
    assert.deepEqual(sent, ['rtc1', 'stop']);
    t.mock.timers.tick(999);
    assert.deepEqual(sent, ['rtc1', 'stop']);
    t.mock.timers.tick(1);
    assert.deepEqual(sent, ['rtc1', 'stop', 'rtc3']);
    // The timer was re-armed by that send: an event now is kept, not sent.
    th.offer('RTC_CHANGE', { offset: 4 }, 'rtc4');
    assert.equal(sent.length, 3);
    t.mock.timers.tick(1000);
    assert.deepEqual(sent.slice(3), ['rtc4']);
    assert.equal(th.activeKeys, 1);
    t.mock.timers.tick(1000);
    assert.equal(th.activeKeys, 0, 'a timer that fires with nothing kept drops the key');
    th.offer('RTC_CHANGE', { offset: 5 }, 'rtc5');
    assert.deepEqual(sent.slice(4), ['rtc5']);
    th.close();
  });

  test('keyed events are limited per data member; other events are independent', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const sent: unknown[] = [];
    const th = new QmpEventThrottle(QEMU_7_2_EVENT_THROTTLE, 1000, (m) => sent.push(m));
    th.offer('VSERPORT_CHANGE', { id: 'a', open: true }, 'a1');
    th.offer('VSERPORT_CHANGE', { id: 'b', open: true }, 'b1');
    th.offer('VSERPORT_CHANGE', { id: 'a', open: false }, 'a2');
    th.offer('QUORUM_REPORT_BAD', { 'node-name': 'n1' }, 'q1');
    th.offer('MEMORY_DEVICE_SIZE_CHANGE', { 'qom-path': '/m/1', size: 1 }, 'm1');
    th.offer('MEMORY_DEVICE_SIZE_CHANGE', { 'qom-path': '/m/2', size: 1 }, 'm2');
    th.offer('WATCHDOG', { action: 'reset' }, 'w1');
    th.offer('BALLOON_CHANGE', { actual: 1 }, 'bal1');
    th.offer('BALLOON_CHANGE', { actual: 2 }, 'bal2');
    th.offer('BLOCK_IO_ERROR', {}, 'io1');
    th.offer('BLOCK_IO_ERROR', {}, 'io2');
    assert.deepEqual(sent, ['a1', 'b1', 'q1', 'm1', 'm2', 'w1', 'bal1', 'io1', 'io2']);
    t.mock.timers.tick(1000);
    assert.deepEqual(sent.slice(9), ['a2', 'bal2']);
    th.close();
  });

  test('through the server: the throttled event carries its own timestamp; eventThrottleMs sets the interval', async () => {
    let now = 5_000_000;
    const server = new QmpServer({ clock: () => now, eventThrottleMs: 30 });
    const c = await client(server, true);
    server.emit('RTC_CHANGE', { offset: 1, 'qom-path': '/machine/unattached/device[4]' });
    now = 6_000_001;
    server.emit('RTC_CHANGE', { offset: 2, 'qom-path': '/machine/unattached/device[4]' });
    now = 7_000_002;
    server.emit('RTC_CHANGE', { offset: 3, 'qom-path': '/machine/unattached/device[4]' });
    assert.match(await c.next(), /"seconds": 5, "microseconds": 0}, "event": "RTC_CHANGE", "data": \{"offset": 1,/);
    assert.match(await c.next(), /"seconds": 7, "microseconds": 2}, "event": "RTC_CHANGE", "data": \{"offset": 3,/);
    await server.close();
  });

  test('throttledEvents: {} turns rate limiting off', async () => {
    const server = new QmpServer({ throttledEvents: {} });
    const c = await client(server, true);
    server.emit('RTC_CHANGE', { offset: 1 });
    server.emit('RTC_CHANGE', { offset: 2 });
    assert.match(await c.next(), /"offset": 1/);
    assert.match(await c.next(), /"offset": 2/);
    await server.close();
  });
});
