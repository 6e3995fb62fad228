// Compile-time checks of the generated QEMU 7.2 types: this file must compile, and every line marked
// with a ts-expect-error directive must fail to compile (tsc reports an unused directive otherwise).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { QmpClient } from '../../src/client/index.js';
import type { QmpCommandMap, QmpEventMap } from '../../src/protocol/index.js';
import type {
  BlockdevAddArguments,
  BlockInfo,
  CommandName,
  Commands,
  EventName,
  Events,
  StatusInfo,
} from '../../src/qapi/7.2/index.js';
import * as qapi72 from '../../src/qapi/7.2/index.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(): T | undefined {
  return undefined;
}

// The maps satisfy the client's and server's constraints.
assertType<Commands extends QmpCommandMap<Commands> ? true : false>();
assertType<Events extends QmpEventMap<Events> ? true : false>();
assertType<CommandName extends keyof Commands ? (keyof Commands extends CommandName ? true : false) : false>();
assertType<EventName extends keyof Events ? (keyof Events extends EventName ? true : false) : false>();

// Checked through the real client type (its defaults are the 7.2 maps).
async function compileOnly(client: QmpClient<Commands, Events>): Promise<void> {
  const status = await client.execute('query-status');
  assertType<Equal<typeof status, StatusInfo>>();
  const running: boolean = status.running;
  void running;
  // @ts-expect-error status is a string-literal union of run states
  const bad: 'flying' = status.status;
  void bad;
  const blocks: BlockInfo[] = await client.execute('query-block');
  void blocks;
  await client.execute('eject', { id: 'ide1-cd0', force: true });
  // @ts-expect-error eject's id is a string
  await client.execute('eject', { id: 5 });
  // @ts-expect-error unknown member
  await client.execute('eject', { id: 'cd', forceful: true });
  // @ts-expect-error no such command
  await client.execute('query-nonsense');
  // @ts-expect-error human-monitor-command needs its arguments
  await client.execute('human-monitor-command');
  const hmp: string = await client.execute('human-monitor-command', { 'command-line': 'info status' });
  void hmp;
  // Empty returns are Record<string, never>.
  const stopped = await client.execute('stop');
  assertType<Equal<typeof stopped, Record<string, never>>>();

  // Flat unions narrow on the discriminator.
  const add: BlockdevAddArguments = { driver: 'qcow2', 'node-name': 'disk0', file: 'file0' };
  await client.execute('blockdev-add', add);
  await client.execute('blockdev-add', { driver: 'null-co', 'node-name': 'n', size: 1024n ** 3n });
  // @ts-expect-error qcow2 needs `file`
  await client.execute('blockdev-add', { driver: 'qcow2', 'node-name': 'disk0' });
  // @ts-expect-error `filename` belongs to the file driver, not null-co
  await client.execute('blockdev-add', { driver: 'null-co', filename: '/tmp/x' });
  // @ts-expect-error not a driver
  await client.execute('blockdev-add', { driver: 'floppy-disk' });
  const narrow = (a: BlockdevAddArguments): string => (a.driver === 'file' ? a.filename : a.driver);
  void narrow;
  // Alternates: an inline definition or a node name.
  await client.execute('blockdev-add', { driver: 'raw', file: { driver: 'file', filename: '/tmp/x' } });
  // @ts-expect-error the alternate takes an object or a string, not a number
  await client.execute('blockdev-add', { driver: 'raw', file: 5 });

  // 64-bit integers come back as number | bigint.
  const kvm = await client.execute('query-balloon');
  assertType<Equal<typeof kvm.actual, number | bigint>>();
  // @ts-expect-error a 64-bit integer may be a bigint
  const actual: number = kvm.actual;
  void actual;

  // Events.
  client.on('STOP', ({ data }) => assertType<Equal<typeof data, undefined>>());
  client.on('BLOCK_IO_ERROR', ({ data }) => {
    const op: 'read' | 'write' = data.operation;
    void op;
  });
  client.on('DEVICE_TRAY_MOVED', ({ data }) => {
    const open: boolean = data['tray-open'];
    void open;
  });
  // @ts-expect-error no such event
  client.on('NOT_AN_EVENT', () => {});
}
void compileOnly;

test('the generated 7.2 module has no runtime exports', () => {
  assert.deepEqual(Object.keys(qapi72), []);
});
