// The generated QEMU 7.2 types in use through the client: `QmpClient` defaults to the 7.2 `Commands`
// and `Events` maps, so `execute` and the event API are typed by them. In a project that depends on qmpkit, call
// `example()` with a connected client.
import type { QmpClient } from 'qmpkit';
import type { BlockdevAddArguments } from 'qmpkit/qapi/7.2';

export async function example(qmp: QmpClient): Promise<void> {
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

  // An event with members always carries `data`; one without (STOP) has none.
  qmp.on('DEVICE_TRAY_MOVED', (ev) => console.log(`${ev.data.id}: tray ${ev.data['tray-open'] ? 'open' : 'closed'}`));
  qmp.on('STOP', (ev) => console.log('stopped at', ev.timestamp.seconds)); // ev.data: undefined
  const done = await qmp.waitForEvent('BLOCK_JOB_COMPLETED', { match: { device: 'job0' }, timeoutMs: 60_000 });
  if (done.data.error !== undefined) console.log(`job0 failed: ${done.data.error}`);

  // A misspelled name is a compile error that names it:
  // qmp.execute('query-statuss')
  //   Argument of type '"query-statuss"' is not assignable to parameter of type '"add-fd" | ... | "yank"'.
}
