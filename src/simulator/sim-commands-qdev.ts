// Handlers for QEMU's device and QOM commands (qapi/qdev.json, qom.json, pci.json).
import { QmpCommandError } from '../errors/qmp-command-error.js';
import type { SimMachine, SimRegister } from './sim-commands.js';
import type { SimDevice } from './sim-devices.js';
import { checkObjectAdd, queryIothreads } from './sim-objects.js';

/** Device types QEMU knows only as abstract parents: never created, never listed. */
const ABSTRACT_DEVICE_TYPES: ReadonlySet<string> = new Set([
  'device',
  'pci-device',
  'usb-device',
  'scsi-device',
  'ide-device',
  'virtio-device',
  'virtio-pci',
  'sys-bus-device',
  'cpu',
]);

/** Registers device_add/device_del, query-pci, the QOM commands and objects. */
export function registerQdevCommands(reg: SimRegister, sim: SimMachine): void {
  const c = sim.config;
  reg('device_add', (a) => {
    const driver = a['driver'];
    if (typeof driver !== 'string') throw new QmpCommandError('GenericError', "Parameter 'driver' is missing");
    const dev = sim.devices.add(driver, a, false, {
      drive: (owner, value) => {
        const known = sim.block.nodes.has(value) || sim.block.backends.some((b) => b.name === value && b.name !== '');
        if (!known) throw new QmpCommandError('GenericError', `Property '${owner}.drive' can't find value '${value}'`);
      },
    });
    attachDrive(sim, dev);
  });
  reg('device_del', (a, ctx) => {
    const id = String(a['id']);
    const dev = sim.devices.find(id);
    if (!dev) throw new QmpCommandError('DeviceNotFound', `Device '${id}' not found`);
    // PCI unplug needs the guest's acknowledgement (or a reset). QEMU refuses a second request
    // while its virtual clock has not moved (from -S until the guest first runs); after that a
    // repeated request is sent to the guest again and answered {}.
    if (dev.unplugPending && !sim.runstate.hasRun) {
      throw new QmpCommandError('GenericError', `Device ${id} is already in the process of unplug`);
    }
    sim.devices.checkUnplug(dev);
    if (sim.devices.needsGuest(dev)) {
      // -sim-guest simulates a guest that acknowledges the request.
      if (c.guest && !dev.unplugPending) setTimeout(() => sim.deleted(dev), 20).unref();
      dev.unplugPending = true;
      return;
    }
    // QEMU removes a USB device at once (a second device_del finds nothing) and emits DEVICE_DELETED
    // from an RCU callback some milliseconds later, so where it lands among later replies is
    // timing; the simulator sends it right after the reply, as the golden transcript shows.
    ctx.afterReply(() => sim.deleted(dev));
  });
  reg('query-pci', () => sim.devices.queryPci());
  reg('device-list-properties', (a) => {
    const name = String(a['typename']);
    const props = sim.devices.properties.of(name);
    if (props !== undefined) return props;
    if (ABSTRACT_DEVICE_TYPES.has(name) || sim.schema.supports('object-add', 'arguments.qom-type', name)) {
      throw new QmpCommandError('GenericError', "Parameter 'typename' expects a non-abstract device type");
    }
    throw new QmpCommandError('DeviceNotFound', `Device '${name}' not found`);
  });
  reg('qom-list', (a) => sim.devices.qomList(String(a['path'])));
  reg('qom-get', (a) => sim.devices.qomGet(String(a['path']), String(a['property'])));
  reg('object-add', (a) => {
    const { 'qom-type': t, id, ...props } = a;
    checkObjectAdd(String(t), String(id), props);
    sim.devices.objectAdd(String(t), String(id), props);
  });
  reg('object-del', (a) => sim.devices.objectDel(String(a['id'])));
  reg('query-iothreads', () => queryIothreads(sim.devices.objects.values(), process.pid));
}

/** A device's `drive`: a backend gets the device attached; a node becomes in use by it. */
function attachDrive(sim: SimMachine, dev: SimDevice): void {
  const drive = dev.props['drive'];
  if (typeof drive !== 'string') return;
  const node = sim.block.nodes.get(drive);
  if (node !== undefined) {
    node.usedBy = dev.path;
    return;
  }
  const b = sim.block.backends.find((x) => x.name === drive);
  if (b) b.qdev = dev.id ?? dev.path;
}
