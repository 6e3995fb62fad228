// Compile-time checks of the per-release maps and of compatibility ranges with the real `QmpClient`.
// This file must compile, and every line under a ts-expect-error directive must fail to compile (tsc
// reports an unused directive otherwise), so a check that stops failing fails the build.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { QmpClient } from '../../src/client/index.js';
import type { VersionInfo as VersionInfo72 } from '../../src/qapi/7.2/index.js';
import type { Commands as Commands82 } from '../../src/qapi/8.2/index.js';
import type { Commands as Commands100, Events as Events100 } from '../../src/qapi/10.0/index.js';
import type { Commands as Commands102, VersionInfo as VersionInfo102 } from '../../src/qapi/10.2/index.js';
import type {
  Compat,
  CompatEvents,
  NotInQemu,
  QemuReleaseName,
  QemuReleaseOrder,
  QemuReleaseRange,
} from '../../src/qapi/index.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(): T | undefined {
  return undefined;
}

// Ranges are taken from the bundled releases, in release order.
assertType<Equal<QemuReleaseRange<'7.2', '7.2'>, ['7.2']>>();
assertType<Equal<QemuReleaseRange<'8.2', '10.0'>, ['8.2', '9.2', '10.0']>>();
assertType<Equal<QemuReleaseRange<'6.2', '10.2'>, QemuReleaseOrder>>();
assertType<Equal<QemuReleaseName, QemuReleaseOrder[number]>>();
// Declarations equal in several releases are one type, shared.
assertType<Equal<VersionInfo72, VersionInfo102>>();

// Never called: the checks are the compiler's.
async function perRelease(c100: QmpClient<Commands100, Events100>, c82: QmpClient<Commands82>): Promise<void> {
  // query-audiodevs is new in 8.2; x-query-profile was removed after 7.2.
  await c100.execute('query-audiodevs');
  await c82.execute('query-audiodevs');
  // @ts-expect-error not in QEMU 10.0
  await c100.execute('x-query-profile');
  // @ts-expect-error migrate's blk was removed before 10.0
  await c100.execute('migrate', { uri: 'tcp:127.0.0.1:4444', blk: true });
  const blockIoError = await c100.waitForEvent('BLOCK_IO_ERROR');
  const path: string = blockIoError.data['qom-path'];
  void path;
}

type Range = Compat<'7.2', '10.0'>;
type RangeEvents = CompatEvents<'7.2', '10.0'>;

async function range(client: QmpClient<Range, RangeEvents>): Promise<void> {
  // What every release has, with its type.
  const status = await client.execute('query-status');
  const running: boolean = status.running;
  void running;
  await client.execute('device_del', { id: 'net0' });
  await client.execute('migrate', { uri: 'tcp:127.0.0.1:4444' });
  await client.execute('dump-guest-memory', { paging: false, protocol: 'file:/tmp/d', format: 'elf' });
  await client.execute('blockdev-add', { driver: 'null-co', 'node-name': 'n0' });

  // A command a release lacks: its arguments' type names the release.
  // @ts-expect-error x-query-profile is not in QEMU 8.2
  await client.execute('x-query-profile');
  // @ts-expect-error Argument of type '{}' is not assignable to parameter of type 'NotInQemu<"8.2">'
  await client.execute('x-query-profile', {});
  // @ts-expect-error query-audiodevs is not in QEMU 7.2
  await client.execute('query-audiodevs');
  // An argument a release lacks: Type 'boolean' is not assignable to type 'NotInQemu<"9.2">'.
  // @ts-expect-error migrate's blk is not in QEMU 9.2
  await client.execute('migrate', { uri: 'tcp:127.0.0.1:4444', blk: true });
  // An enum value a release lacks: the expected type lists '"kdump-raw-zlib (not in QEMU 7.2)"'.
  // @ts-expect-error kdump-raw-zlib is not in QEMU 7.2
  await client.execute('dump-guest-memory', { paging: false, protocol: 'file:/tmp/d', format: 'kdump-raw-zlib' });
  // Unknown members and wrong types stay errors.
  // @ts-expect-error device_del's id is a string
  await client.execute('device_del', { id: 1 });
  // @ts-expect-error a misspelled command name
  await client.execute('query-statuss');
}

async function rangeEvents(client: QmpClient<Range, RangeEvents>): Promise<void> {
  // Events: a member a release lacks has the type NotInQemu<release>.
  const e = await client.waitForEvent('BLOCK_IO_ERROR');
  const device: string = e.data.device;
  void device;
  // @ts-expect-error qom-path is not in QEMU 7.2
  const path: string = e.data['qom-path'];
  void path;
  const brand: NotInQemu<'7.2'> | undefined = e.data['qom-path'];
  void brand;
  const gone = await client.waitForEvent('MEM_UNPLUG_ERROR');
  // @ts-expect-error MEM_UNPLUG_ERROR is not in every release of the range
  const id: string = gone.data.device;
  void id;
}

// A range of one release is that release's map.
async function single(client: QmpClient<Compat<'10.2', '10.2'>>, plain: QmpClient<Commands102>): Promise<void> {
  const a = await client.execute('query-status');
  const b = await plain.execute('query-status');
  assertType<Equal<typeof a, typeof b>>();
}

test('the per-release and range type checks above are compiled with the test suite', () => {
  assert.equal(typeof perRelease, 'function');
  assert.equal(typeof range, 'function');
  assert.equal(typeof rangeEvents, 'function');
  assert.equal(typeof single, 'function');
});
