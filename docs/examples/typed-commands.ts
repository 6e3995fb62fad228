// The generated QEMU 7.2 types in use: a typed `execute` and `on` over the Commands and Events maps.
// `QmpClient<Commands, Events>` has exactly these signatures; this example declares them itself so
// it compiles on its own (run: node dist/docs/examples/typed-commands.js).
import type { QmpExecuteParams, QmpReturnsOf } from '../../src/protocol/index.js';
import type { BlockdevAddArguments, CommandName, Commands, EventName, Events } from '../../src/qapi/7.2/index.js';

interface TypedQmp {
  execute<K extends CommandName>(
    name: K,
    ...params: QmpExecuteParams<Commands[K], { timeoutMs?: number }>
  ): Promise<QmpReturnsOf<Commands[K]>>;
  on<K extends EventName>(name: K, listener: (data: Events[K]) => void): void;
}

export async function example(qmp: TypedQmp): Promise<void> {
  const status = await qmp.execute('query-status'); // StatusInfo
  if (status.status === 'paused') await qmp.execute('cont'); // no arguments: none may be given

  // Flat unions are discriminated unions on their tag: `driver` decides which members exist.
  const disk: BlockdevAddArguments = {
    driver: 'qcow2',
    'node-name': 'disk0',
    file: { driver: 'file', filename: '/var/lib/images/disk0.qcow2' }, // an alternate: object or node name
  };
  await qmp.execute('blockdev-add', disk);

  // 64-bit integers are number | bigint: the decoder keeps values beyond 2^53 exact.
  const [first] = await qmp.execute('query-block');
  const size = first?.inserted?.image['virtual-size'];
  if (typeof size === 'bigint') console.log(`huge disk: ${size} bytes`);

  qmp.on('DEVICE_TRAY_MOVED', (data) => console.log(`${data.id}: tray ${data['tray-open'] ? 'open' : 'closed'}`));
  qmp.on('STOP', (data) => console.log('stopped', data)); // data: undefined
}
