// The machine the command line describes, before any client connects: QEMU's default cd-rom, the
// drives with their images, the -netdev backends and the -device devices, each refused with the
// words QEMU uses for a bad option.
import { QmpCommandError } from '../errors/qmp-command-error.js';
import { QmpUsageError } from '../errors/qmp-error.js';
import type { SimBlock, SimBlockBackend } from './sim-block.js';
import type { SimConfig } from './sim-config.js';
import type { SimDevices } from './sim-devices.js';

/** Puts the command line's drives, netdevs and devices into `block` and `devices`; a bad one is a `QmpUsageError`. */
export function buildMachine(c: SimConfig, block: SimBlock, devices: SimDevices): void {
  if (!c.nodefaults && c.machine !== 'none' && !c.drives.some((d) => d.media === 'cdrom' && d.interface === 'ide')) {
    // QEMU's default machines have an IDE cd-rom: ide1-cd0 on pc (the classic `eject` example),
    // ide2-cd0 on q35, whose AHCI controller names its ports differently.
    c.drives.push({
      id: c.machine === 'q35' ? 'ide2-cd0' : 'ide1-cd0',
      media: 'cdrom',
      file: undefined,
      format: undefined,
      readonly: true,
      interface: 'ide',
    });
  }
  // Where QEMU 7.2 puts the first IDE drive's device among /machine/unattached (pc: device[23],
  // q35: device[18]), so the QOM path in DEVICE_TRAY_MOVED and query-block is QEMU's.
  let unattached = c.machine === 'q35' ? 18 : 23;
  for (const d of c.drives) {
    const backend: SimBlockBackend = {
      name: d.id,
      qdev: undefined,
      removable: d.media === 'cdrom',
      locked: false,
      trayOpen: false,
      medium: undefined,
      ioStatus: 'ok',
    };
    if (d.file !== undefined) {
      try {
        backend.medium = block.openImage(d.file, d.format, d.readonly);
        backend.medium.usedBy = d.id;
      } catch (err) {
        throw new QmpUsageError(
          `-drive id=${d.id},file=${d.file}: ${err instanceof QmpCommandError ? err.desc : String(err)}`,
        );
      }
    }
    if (d.interface === 'ide') {
      if (c.machine === 'none') throw new QmpUsageError(`-drive id=${d.id}: machine type does not support if=ide`);
      backend.qdev = `/machine/unattached/device[${unattached++}]`;
    }
    block.backends.push(backend);
  }
  for (const n of c.netdevs) {
    try {
      devices.network.add({ ...n, type: n['type'] ?? '', id: n['id'] ?? '' });
    } catch (err) {
      throw new QmpUsageError(`-netdev ${n['type'] ?? ''}: ${err instanceof QmpCommandError ? err.desc : String(err)}`);
    }
  }
  for (const d of c.devices) {
    // Ports on the virtio-serial bus are chardev channels: the agent's is served by SimGuestAgent.
    if (d.driver === 'virtserialport' || d.driver === 'virtconsole') continue;
    let dev: ReturnType<SimDevices['add']>;
    try {
      dev = devices.add(d.driver === 'virtio-serial' ? 'virtio-serial-pci' : d.driver, d.props, true);
    } catch (err) {
      throw new QmpUsageError(`-device ${d.driver}: ${err instanceof QmpCommandError ? err.desc : String(err)}`);
    }
    const drive = d.props['drive'];
    if (drive !== undefined) {
      const b = block.backends.find((x) => x.name === drive);
      if (!b)
        throw new QmpUsageError(
          `-device ${d.driver},drive=${drive}: Property '${d.driver}.drive' can't find value '${drive}'`,
        );
      b.qdev = dev.id ?? dev.path;
      if (d.driver === 'ide-cd' || d.driver === 'scsi-cd') b.removable = true;
    }
  }
}
