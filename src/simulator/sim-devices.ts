import { QmpCommandError } from '../errors/qmp-command-error.js';
import { isQemuIdentifier } from './qemu-identifier.js';

type BusType = 'PCI' | 'usb-bus' | 'IDE' | 'SCSI' | 'System';

interface DriverInfo {
  bus: BusType;
  /** Bus type this device provides (`<id>.0` for usb/scsi, `<id>` for PCI bridges). */
  provides?: BusType;
  hotplug: boolean;
}

/** The device models the simulator knows, with the bus they need. */
const DRIVERS: Record<string, DriverInfo> = {
  e1000: { bus: 'PCI', hotplug: true },
  e1000e: { bus: 'PCI', hotplug: true },
  rtl8139: { bus: 'PCI', hotplug: true },
  'virtio-net-pci': { bus: 'PCI', hotplug: true },
  'virtio-blk-pci': { bus: 'PCI', hotplug: true },
  'virtio-scsi-pci': { bus: 'PCI', provides: 'SCSI', hotplug: true },
  'virtio-serial-pci': { bus: 'PCI', hotplug: true },
  'virtio-rng-pci': { bus: 'PCI', hotplug: true },
  'virtio-balloon-pci': { bus: 'PCI', hotplug: true },
  'qemu-xhci': { bus: 'PCI', provides: 'usb-bus', hotplug: true },
  'nec-usb-xhci': { bus: 'PCI', provides: 'usb-bus', hotplug: true },
  'pcie-root-port': { bus: 'PCI', provides: 'PCI', hotplug: false },
  'usb-kbd': { bus: 'usb-bus', hotplug: true },
  'usb-tablet': { bus: 'usb-bus', hotplug: true },
  'usb-mouse': { bus: 'usb-bus', hotplug: true },
  'usb-storage': { bus: 'usb-bus', hotplug: true },
  'ide-cd': { bus: 'IDE', hotplug: false },
  'ide-hd': { bus: 'IDE', hotplug: false },
  'scsi-cd': { bus: 'SCSI', hotplug: true },
  'scsi-hd': { bus: 'SCSI', hotplug: true },
};

/** A device on the simulated machine. */
export interface SimDevice {
  id: string | undefined;
  driver: string;
  bus: string;
  path: string;
  props: Record<string, unknown>;
  /** An unplug was requested and waits for the guest (PCI). */
  unplugPending: boolean;
}

/** A user-created object (`object-add`, `-object`). */
export interface SimObject {
  id: string;
  qomType: string;
  props: Record<string, unknown>;
}

/** qdev devices, buses, the QOM tree and user objects. */
export class SimDevices {
  readonly devices: SimDevice[] = [];
  readonly objects = new Map<string, SimObject>();
  readonly #buses = new Map<string, BusType>();
  readonly #hotpluggable = new Set<string>();
  #anon = 0;
  readonly machineType: string;

  constructor(machine: string) {
    this.machineType =
      machine === 'none' ? 'none-machine' : machine === 'q35' ? 'pc-q35-7.2-machine' : 'pc-i440fx-7.2-machine';
    if (machine === 'q35') {
      // QEMU 7.2 hot-plugs PCIe devices only into root ports, never into the root complex itself.
      this.#addBus('pcie.0', 'PCI', false);
      for (let i = 0; i < 6; i++) this.#addBus(`ide.${i}`, 'IDE', false);
    } else if (machine === 'pc') {
      this.#addBus('pci.0', 'PCI', true);
      this.#addBus('ide.0', 'IDE', false);
      this.#addBus('ide.1', 'IDE', false);
    }
  }

  #addBus(name: string, type: BusType, hotplug: boolean): void {
    this.#buses.set(name, type);
    if (hotplug) this.#hotpluggable.add(name);
  }

  /** Finds by qdev id or QOM path. */
  find(idOrPath: string): SimDevice | undefined {
    return this.devices.find((d) => d.id === idOrPath || d.path === idOrPath);
  }

  /**
   * Adds a device (`device_add`, or `-device` when `coldplug`). Returns it. Errors are QEMU 7.2's
   * texts: ids that are not identifiers, duplicate ids, unknown models, missing buses, buses without hotplug.
   */
  add(driver: string, props: Record<string, unknown>, coldplug: boolean): SimDevice {
    const info = DRIVERS[driver];
    if (!info) throw new QmpCommandError('GenericError', `'${driver}' is not a valid device model name`);
    const id = typeof props['id'] === 'string' ? props['id'] : undefined;
    if (id !== undefined && !isQemuIdentifier(id)) {
      throw new QmpCommandError('GenericError', "Parameter 'id' expects an identifier");
    }
    if (id !== undefined && this.devices.some((d) => d.id === id)) {
      throw new QmpCommandError('GenericError', `Duplicate device ID '${id}'`);
    }
    let bus: string;
    if (typeof props['bus'] === 'string') {
      bus = props['bus'];
      const t = this.#buses.get(bus);
      if (t === undefined) throw new QmpCommandError('GenericError', `Bus '${bus}' not found`);
      if (t !== info.bus)
        throw new QmpCommandError(
          'GenericError',
          `Bus '${bus}' is not a ${info.bus === 'usb-bus' ? 'USB' : info.bus} bus`,
        );
    } else {
      const found = [...this.#buses].find(([, t]) => t === info.bus);
      if (!found) throw new QmpCommandError('GenericError', `No '${info.bus}' bus found for device '${driver}'`);
      bus = found[0];
    }
    if (!coldplug && !this.#hotpluggable.has(bus)) {
      throw new QmpCommandError('GenericError', `Bus '${bus}' does not support hotplugging`);
    }
    const path = id !== undefined ? `/machine/peripheral/${id}` : `/machine/peripheral-anon/device[${this.#anon++}]`;
    const dev: SimDevice = { id, driver, bus, path, props, unplugPending: false };
    this.devices.push(dev);
    if (info.provides) this.#addBus(info.provides === 'PCI' ? (id ?? path) : `${id ?? path}.0`, info.provides, true);
    return dev;
  }

  /** True when unplugging this device needs the guest's cooperation (PCI/ACPI). */
  needsGuest(dev: SimDevice): boolean {
    return DRIVERS[dev.driver]?.bus === 'PCI';
  }

  remove(dev: SimDevice): void {
    const i = this.devices.indexOf(dev);
    if (i !== -1) this.devices.splice(i, 1);
  }

  objectAdd(qomType: string, id: string, props: Record<string, unknown>): void {
    if (this.objects.has(id)) {
      throw new QmpCommandError(
        'GenericError',
        `attempt to add duplicate property '${id}' to object (type 'container')`,
      );
    }
    this.objects.set(id, { id, qomType, props });
  }

  objectDel(id: string): void {
    if (!this.objects.delete(id)) throw new QmpCommandError('GenericError', `object '${id}' not found`);
  }

  /** `qom-list`: the properties of the object at `path`. */
  qomList(path: string): Array<{ name: string; type: string }> {
    const children = (prefix: string): Array<{ name: string; type: string }> =>
      this.devices
        .filter((d) => d.path.startsWith(`${prefix}/`) && !d.path.slice(prefix.length + 1).includes('/'))
        .map((d) => ({ name: d.path.slice(prefix.length + 1), type: `child<${d.driver}>` }));
    const type = { name: 'type', type: 'string' };
    switch (path) {
      case '/':
        return [
          type,
          { name: 'machine', type: `child<${this.machineType}>` },
          { name: 'objects', type: 'child<container>' },
        ];
      case '/machine':
        return [
          type,
          { name: 'peripheral', type: 'child<container>' },
          { name: 'peripheral-anon', type: 'child<container>' },
          { name: 'unattached', type: 'child<container>' },
        ];
      case '/machine/peripheral':
      case '/machine/peripheral-anon':
        return [type, ...children(path)];
      case '/objects':
        return [type, ...[...this.objects.values()].map((o) => ({ name: o.id, type: `child<${o.qomType}>` }))];
      default: {
        if (this.#qomType(path) === undefined)
          throw new QmpCommandError('DeviceNotFound', `Device '${path}' not found`);
        return [type];
      }
    }
  }

  #qomType(path: string): string | undefined {
    if (path === '/') return 'container';
    if (path === '/machine') return this.machineType;
    if (['/machine/peripheral', '/machine/peripheral-anon', '/machine/unattached', '/objects'].includes(path))
      return 'container';
    const dev = this.devices.find((d) => d.path === path);
    if (dev) return dev.driver;
    if (path.startsWith('/objects/')) return this.objects.get(path.slice(9))?.qomType;
    return undefined;
  }

  /** `qom-get`. */
  qomGet(path: string, property: string): unknown {
    const type = this.#qomType(path);
    if (type === undefined) throw new QmpCommandError('DeviceNotFound', `Device '${path}' not found`);
    if (property === 'type') return type;
    const dev = this.devices.find((d) => d.path === path);
    if (dev && property in dev.props && property !== 'driver') return dev.props[property];
    throw new QmpCommandError('GenericError', `Property '${type}.${property}' not found`);
  }
}
