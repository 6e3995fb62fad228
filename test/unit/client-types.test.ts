// Compile-time checks of the real `QmpClient` type with the QEMU 7.2 maps (its defaults) and without
// types. This file must compile, and every line under a ts-expect-error directive must fail to compile
// (tsc reports an unused directive otherwise), so a check that stops failing fails the build.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QmpClient } from '../../src/client/index.js';
import type { QmpEventDataOf, QmpEventOf, UntypedCommands, UntypedEvents } from '../../src/protocol/index.js';
import type {
  BlockJobCompletedData,
  DeviceDeletedData,
  Events,
  NameInfo,
  StatusInfo,
  VersionInfo,
} from '../../src/qapi/7.2/index.js';
import type { JsonObject, JsonValue } from '../../src/wire/index.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(): T | undefined {
  return undefined;
}

// Never called: the checks are the compiler's. `client` is the default QmpClient<Commands, Events> of 7.2.
async function typed(client: QmpClient): Promise<void> {
  // Return types.
  const status = await client.execute('query-status');
  assertType<Equal<typeof status, StatusInfo>>();
  assertType<Equal<Awaited<ReturnType<typeof client.execute<'query-name'>>>, NameInfo>>();
  const version: VersionInfo = await client.execute('query-version', undefined, { timeoutMs: 500 });
  void version;
  const stopped = await client.execute('stop');
  assertType<Equal<typeof stopped, Record<string, never>>>();
  const hmp: string = await client.execute('human-monitor-command', { 'command-line': 'info status' });
  void hmp;
  // @ts-expect-error query-status returns a StatusInfo, not a string
  const wrong: string = await client.execute('query-status');
  void wrong;

  // Arguments: required where the command has a required member, optional where none is.
  await client.execute('device_del', { id: 'net0' });
  await client.execute('eject', { id: 'ide1-cd0', force: true });
  await client.execute('query-cpus-fast');
  await client.execute('query-cpus-fast', {});
  // @ts-expect-error device_del needs its arguments
  await client.execute('device_del');
  // @ts-expect-error device_del's id is a string
  await client.execute('device_del', { id: 1 });
  // @ts-expect-error unknown member
  await client.execute('device_del', { id: 'net0', force: true });
  // @ts-expect-error query-status takes no arguments
  await client.execute('query-status', { verbose: true });
  // @ts-expect-error a misspelled command name
  await client.execute('query-statuss');
  // @ts-expect-error a misspelled command name, with arguments
  await client.execute('device-del', { id: 'net0' });
  await client.executeOob('query-yank');
  // @ts-expect-error a misspelled command name out-of-band
  await client.executeOob('query-yanks');
  // The escape hatch takes any name.
  const raw: JsonValue = await client.executeRaw('x-not-in-7.2', { a: 1 });
  void raw;

  // Events with members: `data` is always there (no `!`), optional members stay optional.
  client.on('BLOCK_JOB_COMPLETED', (ev) => {
    const device: string = ev.data.device;
    assertType<Equal<typeof ev.data, BlockJobCompletedData>>();
    assertType<Equal<typeof ev.event, 'BLOCK_JOB_COMPLETED'>>();
    void device;
  });
  client.on('DEVICE_DELETED', (ev) => {
    const path: string = ev.data.path;
    // @ts-expect-error DEVICE_DELETED's device is optional in the schema
    const device: string = ev.data.device;
    void path;
    void device;
  });
  // Events without members: QEMU sends no `data`.
  client.on('STOP', (ev) => {
    assertType<Equal<typeof ev.data, undefined>>();
    // @ts-expect-error STOP has no data
    void ev.data.reason;
  });
  // `'*'`: the union of every event, narrowed by its name.
  client.on('*', (ev) => {
    if (ev.event === 'SHUTDOWN') {
      const guest: boolean = ev.data.guest;
      void guest;
    }
    // @ts-expect-error not narrowed: STOP and others have no data
    void ev.data.guest;
  });
  // @ts-expect-error no such event
  client.on('NOT_AN_EVENT', () => {});
  // @ts-expect-error the handler's event is a BLOCK_JOB_COMPLETED event
  client.on('BLOCK_JOB_COMPLETED', (ev: QmpEventOf<Events, 'STOP'>) => void ev);

  const done = await client.waitForEvent('BLOCK_JOB_COMPLETED', { match: { device: 'job0' }, timeoutMs: 100 });
  const len: number | bigint = done.data.len;
  void len;
  const deleted = await client.waitForEvent('DEVICE_DELETED', { match: (ev) => ev.event === 'DEVICE_DELETED' });
  assertType<Equal<typeof deleted.data, DeviceDeletedData>>();
  // @ts-expect-error match members must belong to the event's data
  await client.waitForEvent('BLOCK_JOB_COMPLETED', { match: { nonsense: 1 } });
  const stop = await client.waitForEvent('STOP');
  assertType<Equal<typeof stop.data, undefined>>();
  // A predicate sees the typed event: data is there without `?.` or `!`.
  await client.waitForEvent('BLOCK_JOB_COMPLETED', { match: (ev) => ev.data.device === 'job0' });
  const filtered = client.events({ names: ['SHUTDOWN'], filter: (ev) => ev.data.reason === 'host-qmp-quit' });
  void filtered;

  for await (const ev of client.events({ names: ['SHUTDOWN', 'STOP'] })) {
    if (ev.event === 'SHUTDOWN') {
      const reason: string = ev.data.reason;
      void reason;
    } else assertType<Equal<typeof ev.data, undefined>>();
  }
  // @ts-expect-error no such event
  client.events({ names: ['SHUTDOWN', 'NOPE'] });
}
void typed;

// Without types (or with UntypedCommands/UntypedEvents) every name is accepted and `data` may be missing.
async function untyped(client: QmpClient<UntypedCommands, UntypedEvents>): Promise<void> {
  const anything: JsonValue = await client.execute('query-statuss');
  void anything;
  await client.execute('device_del', { id: 'x' });
  client.on('ANY_EVENT', (ev) => {
    assertType<Equal<typeof ev.data, JsonObject | undefined>>();
    // @ts-expect-error data may be missing
    void ev.data.x;
  });
}
void untyped;

// The helper types themselves.
assertType<Equal<QmpEventDataOf<Events, 'STOP'>, undefined>>();
assertType<Equal<QmpEventDataOf<Events, 'DEVICE_DELETED'>, DeviceDeletedData>>();
assertType<Equal<QmpEventOf<Events, 'STOP' | 'RESUME'>['event'], 'STOP' | 'RESUME'>>();

test('the client type checks above are compiled with the test suite', () => {
  // Reaching this line means this file compiled: every positive case type-checked and every
  // line marked as an expected error was one.
  assert.equal(typeof QmpClient.connect, 'function');
});
