// Handlers for QEMU's device and QOM commands (qapi/qdev.json, qom.json).
import { QmpCommandError } from '../errors/qmp-command-error.js';
import type { SimMachine, SimRegister } from './sim-commands.js';

/** Registers device_add/device_del and the QOM commands. */
export function registerQdevCommands(reg: SimRegister, sim: SimMachine): void {
  const c = sim.config;
  reg('device_add', (a) => {
    const driver = a['driver'];
    if (typeof driver !== 'string') throw new QmpCommandError('GenericError', "Parameter 'driver' is missing");
    sim.devices.add(driver, a, false);
  });
  reg('device_del', (a, ctx) => {
    const id = String(a['id']);
    const dev = sim.devices.find(id);
    if (!dev) throw new QmpCommandError('DeviceNotFound', `Device '${id}' not found`);
    if (sim.devices.needsGuest(dev)) {
      // PCI unplug needs the guest's acknowledgement: without a guest it never completes (QEMU 7.2
      // answers {} again on a repeated request); -sim-guest simulates a guest that acknowledges.
      if (!c.guest || dev.unplugPending) {
        dev.unplugPending = true;
        return;
      }
      dev.unplugPending = true;
      setTimeout(() => sim.deleted(dev), 20).unref();
      return;
    }
    // QEMU finishes a USB unplug a main-loop turn after the reply: the event follows it.
    // QEMU removes a USB device at once (a second device_del finds nothing) and emits DEVICE_DELETED
    // from an RCU callback some milliseconds later, so where it lands among later replies is
    // timing; the simulator sends it right after the reply, as the golden transcript shows.
    ctx.afterReply(() => {
      sim.devices.remove(dev);
      sim.emit('DEVICE_DELETED', { device: dev.id, path: dev.path });
    });
  });
  reg('qom-list', (a) => sim.devices.qomList(String(a['path'])));
  reg('qom-get', (a) => sim.devices.qomGet(String(a['path']), String(a['property'])));
  reg('object-add', (a) => {
    const { 'qom-type': t, id, ...props } = a;
    sim.devices.objectAdd(String(t), String(id), props);
  });
  reg('object-del', (a) => sim.devices.objectDel(String(a['id'])));
}
