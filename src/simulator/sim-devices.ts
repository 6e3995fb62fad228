import { QmpCommandError } from '../errors/qmp-command-error.js';
import { qdictOrder } from '../wire/index.js';
import { DeviceProperties, isMacAddress, isOnOff, optionString, typedValue } from './device-props.js';
import { PciBus, parseDevfn } from './pci-bus.js';
import { PC_BUILTINS, Q35_BUILTINS } from './pci-ids.js';
import { isQemuIdentifier } from './qemu-identifier.js';
import { type SimNetdev, SimNetwork, type SimNic } from './sim-netdev.js';

/** QEMU's bus type names, as its "can't go on X bus" errors spell them. */
type BusType = 'PCI' | 'PCIE' | 'usb-bus' | 'IDE' | 'SCSI' | 'System';

interface DriverInfo {
  /** The bus type it plugs into (`PCI` also takes `PCIE` buses). */
  bus: BusType;
  /** Bus type this device provides (`<id>.0` for usb/scsi, `<id>` for PCI bridges). */
  provides?: BusType;
  /** A network card: it gets a net client, a MAC address and a `netdev` backend. */
  nic?: boolean;
  /** Needs a `drive`; the name its errors give the property's owner. */
  drive?: string;
  /** Takes an optional `drive` (a removable medium). */
  optionalDrive?: boolean;
}

/** The device models the simulator knows, with the bus they need. */
const DRIVERS: Record<string, DriverInfo> = {
  e1000: { bus: 'PCI', nic: true },
  e1000e: { bus: 'PCI', nic: true },
  rtl8139: { bus: 'PCI', nic: true },
  'virtio-net-pci': { bus: 'PCI', nic: true },
  'virtio-blk-pci': { bus: 'PCI', drive: 'virtio-blk-device' },
  'virtio-scsi-pci': { bus: 'PCI', provides: 'SCSI' },
  'virtio-serial-pci': { bus: 'PCI' },
  'virtio-rng-pci': { bus: 'PCI' },
  'virtio-balloon-pci': { bus: 'PCI' },
  'qemu-xhci': { bus: 'PCI', provides: 'usb-bus' },
  'nec-usb-xhci': { bus: 'PCI', provides: 'usb-bus' },
  'pcie-root-port': { bus: 'PCI', provides: 'PCIE' },
  'usb-kbd': { bus: 'usb-bus' },
  'usb-tablet': { bus: 'usb-bus' },
  'usb-mouse': { bus: 'usb-bus' },
  'usb-storage': { bus: 'usb-bus', drive: 'usb-storage' },
  'ide-cd': { bus: 'IDE', optionalDrive: true },
  'ide-hd': { bus: 'IDE', drive: 'ide-hd' },
  'scsi-cd': { bus: 'SCSI', optionalDrive: true },
  'scsi-hd': { bus: 'SCSI', drive: 'scsi-hd' },
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
  /** PCI devfn (slot * 8 + function), for PCI devices. */
  devfn: number | undefined;
  /** The net client of a NIC. */
  nic: SimNic | undefined;
  /** Buses this device provides (removed with it). */
  buses: string[];
  /** Created from the command line (`-device`), not by `device_add`. */
  coldplug: boolean;
}

/** A user-created object (`object-add`, `-object`). */
export interface SimObject {
  id: string;
  qomType: string;
  props: Record<string, unknown>;
}

interface SimBus {
  type: BusType;
  hotplug: boolean;
  pci: PciBus | undefined;
}

/** What `add` asks of the rest of the machine. */
export interface SimDeviceHooks {
  /** Checks a `drive` property value; throws QEMU's error (naming the property as `owner.drive`). */
  drive?: (owner: string, value: string) => void;
}

/** qdev devices, buses, the QOM tree and user objects. */
export class SimDevices {
  readonly devices: SimDevice[] = [];
  readonly objects = new Map<string, SimObject>();
  readonly network = new SimNetwork();
  readonly properties = new DeviceProperties();
  readonly #buses = new Map<string, SimBus>();
  #anon = 0;
  readonly machineType: string;

  constructor(machine: string) {
    this.machineType =
      machine === 'none' ? 'none-machine' : machine === 'q35' ? 'pc-q35-7.2-machine' : 'pc-i440fx-7.2-machine';
    if (machine === 'q35') {
      // QEMU 7.2 hot-plugs PCIe devices only into root ports, never into the root complex itself.
      const root = this.#addBus('pcie.0', 'PCIE', false, false);
      root?.addBuiltins(Q35_BUILTINS);
      for (let i = 0; i < 6; i++) this.#addBus(`ide.${i}`, 'IDE', false, false);
    } else if (machine === 'pc') {
      const root = this.#addBus('pci.0', 'PCI', true, false);
      root?.addBuiltins(PC_BUILTINS);
      this.#addBus('ide.0', 'IDE', false, false);
      this.#addBus('ide.1', 'IDE', false, false);
    }
  }

  #addBus(name: string, type: BusType, hotplug: boolean, secondary: boolean): PciBus | undefined {
    const pci = type === 'PCI' || type === 'PCIE' ? new PciBus(name, secondary) : undefined;
    this.#buses.set(name, { type, hotplug, pci });
    return pci;
  }

  /** Finds by qdev id or QOM path. */
  find(idOrPath: string): SimDevice | undefined {
    return this.devices.find((d) => d.id === idOrPath || d.path === idOrPath);
  }

  /**
   * Adds a device (`device_add`, or `-device` when `coldplug`). Returns it. Errors are QEMU 7.2's
   * texts, in its order: the id's syntax, the model, the bus, hotplug, a duplicate id, then each
   * property in QEMU's (hash) order, then what realizing the device refuses (PCI slots).
   */
  add(driver: string, props: Record<string, unknown>, coldplug: boolean, hooks: SimDeviceHooks = {}): SimDevice {
    const rawId = props['id'];
    const id = rawId === undefined ? undefined : optionString(rawId);
    if (id !== undefined && !isQemuIdentifier(id)) {
      throw new QmpCommandError('GenericError', "Parameter 'id' expects an identifier");
    }
    const info = DRIVERS[driver];
    if (!info) throw new QmpCommandError('GenericError', `'${driver}' is not a valid device model name`);
    const busName = this.#findBus(driver, info, props['bus']);
    const bus = this.#buses.get(busName) as SimBus;
    if (!coldplug && !bus.hotplug) {
      throw new QmpCommandError('GenericError', `Bus '${busName}' does not support hotplugging`);
    }
    if (id !== undefined && this.devices.some((d) => d.id === id)) {
      throw new QmpCommandError('GenericError', `Duplicate device ID '${id}'`);
    }
    const set = this.#setProperties(driver, info, props, hooks);
    if (info.drive !== undefined && set.drive === undefined) {
      throw new QmpCommandError('GenericError', 'drive property not set');
    }
    let devfn: number | undefined;
    if (bus.pci) devfn = bus.pci.place(driver, set.devfn, set.multifunction, !coldplug);
    if (driver === 'pcie-root-port') this.#checkChassisSlot(props);
    const path = id !== undefined ? `/machine/peripheral/${id}` : `/machine/peripheral-anon/device[${this.#anon++}]`;
    const dev: SimDevice = {
      id,
      driver,
      bus: busName,
      path,
      props,
      unplugPending: false,
      devfn,
      nic: undefined,
      buses: [],
      coldplug,
    };
    // An empty romfile or rombar=0 leaves the device without an option ROM BAR.
    const rom = optionString(props['romfile'] ?? 'x') !== '' && optionString(props['rombar'] ?? 1) !== '0';
    if (bus.pci && devfn !== undefined) bus.pci.plug(devfn, driver, id, { multifunction: set.multifunction, rom }, dev);
    if (info.nic) dev.nic = this.network.attach(driver, id, set.mac, set.netdev);
    this.devices.push(dev);
    if (info.provides) {
      const name = info.provides === 'PCIE' ? (id ?? path) : `${id ?? path}.0`;
      this.#addBus(name, info.provides, true, info.provides === 'PCIE');
      dev.buses.push(name);
    }
    return dev;
  }

  /** Each root port needs its own (chassis, slot) pair, both 0 unless given. */
  #checkChassisSlot(props: Record<string, unknown>): void {
    const pair = (p: Record<string, unknown>): string =>
      `${Number(optionString(p['chassis'] ?? 0))}/${Number(optionString(p['slot'] ?? 0))}`;
    const mine = pair(props);
    if (this.devices.some((d) => d.driver === 'pcie-root-port' && pair(d.props) === mine)) {
      // QEMU passes on -EBUSY from its chassis table.
      throw new QmpCommandError('GenericError', "Can't add chassis slot, error -16");
    }
  }

  #findBus(driver: string, info: DriverInfo, given: unknown): string {
    const fits = (t: BusType): boolean => t === info.bus || (info.bus === 'PCI' && t === 'PCIE');
    if (given !== undefined) {
      const name = optionString(given);
      const b = this.#buses.get(name);
      if (b === undefined) throw new QmpCommandError('GenericError', `Bus '${name}' not found`);
      if (!fits(b.type)) throw new QmpCommandError('GenericError', `Device '${driver}' can't go on ${b.type} bus`);
      return name;
    }
    const found = [...this.#buses].find(([, b]) => fits(b.type));
    if (!found) throw new QmpCommandError('GenericError', `No '${info.bus}' bus found for device '${driver}'`);
    return found[0];
  }

  /** Sets each property in QEMU's order, checking the ones whose values the simulator interprets. */
  #setProperties(
    driver: string,
    info: DriverInfo,
    props: Record<string, unknown>,
    hooks: SimDeviceHooks,
  ): { devfn?: number; multifunction: boolean; mac?: string; netdev?: SimNetdev; drive?: string } {
    const out: { devfn?: number; multifunction: boolean; mac?: string; netdev?: SimNetdev; drive?: string } = {
      multifunction: false,
    };
    for (const key of qdictOrder(Object.keys(props))) {
      if (key === 'driver' || key === 'bus' || key === 'id' || props[key] === undefined) continue;
      const text = optionString(props[key]);
      const declared = this.properties.require(driver, key);
      const bad = (): QmpCommandError =>
        new QmpCommandError('GenericError', `Property '${driver}.${key}' doesn't take value '${text}'`);
      if (declared?.type === 'bool' && !isOnOff(text)) {
        throw new QmpCommandError('GenericError', `Parameter '${key}' expects 'on' or 'off'`);
      }
      if (key === 'addr') out.devfn = parseDevfn(driver, text);
      else if (key === 'multifunction') out.multifunction = text === 'on' || text === 'yes' || text === 'true';
      else if (key === 'mac' && info.nic) {
        if (!isMacAddress(text)) throw bad();
        out.mac = text;
      } else if (key === 'netdev' && info.nic) out.netdev = this.network.backendFor(driver, text);
      else if (key === 'drive' && (info.drive !== undefined || info.optionalDrive)) {
        hooks.drive?.(info.drive ?? driver, text);
        out.drive = text;
      }
    }
    return out;
  }

  /** Refuses to unplug a device from a bus without hotplug, in QEMU's words. */
  checkUnplug(dev: SimDevice): void {
    if (!this.#buses.get(dev.bus)?.hotplug) {
      throw new QmpCommandError('GenericError', `Bus '${dev.bus}' does not support hotplugging`);
    }
  }

  /** True when unplugging this device needs the guest's cooperation (PCI/ACPI). */
  needsGuest(dev: SimDevice): boolean {
    return dev.devfn !== undefined;
  }

  /** Devices whose PCI unplug waits for the guest. */
  pendingUnplugs(): SimDevice[] {
    return this.devices.filter((d) => d.unplugPending);
  }

  /**
   * Removes a device and, first, everything on the buses it provides. Returns the devices removed,
   * in the order QEMU reports them gone.
   */
  remove(dev: SimDevice): SimDevice[] {
    if (!this.devices.includes(dev)) return [];
    const gone: SimDevice[] = [];
    for (const name of dev.buses) {
      for (const child of this.devices.filter((d) => d.bus === name)) gone.push(...this.remove(child));
      this.#buses.delete(name);
    }
    this.devices.splice(this.devices.indexOf(dev), 1);
    this.#buses.get(dev.bus)?.pci?.unplug(dev);
    if (dev.nic) this.network.detach(dev.nic);
    gone.push(dev);
    return gone;
  }

  /** `query-pci`: the root bus, as QEMU shows it before the firmware numbers buses and assigns BARs. */
  queryPci(): Array<Record<string, unknown>> {
    return [...this.#buses.values()].flatMap((b) => (b.pci && !b.pci.secondary ? [b.pci.info()] : []));
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
        const dev = this.devices.find((d) => d.path === path);
        if (dev === undefined) return [type];
        // A device's own properties (QEMU also lists links and child objects, in hash order).
        return [
          type,
          { name: 'parent_bus', type: 'link<bus>' },
          { name: 'realized', type: 'bool' },
          { name: 'hotplugged', type: 'bool' },
          { name: 'hotpluggable', type: 'bool' },
          ...(this.properties.of(dev.driver) ?? []).map((p) => ({ name: p.name, type: p.type })),
        ];
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

  /** `qom-get`: a device's properties as set, assigned (addr, mac) or by their recorded defaults. */
  qomGet(path: string, property: string): unknown {
    const type = this.#qomType(path);
    if (type === undefined) throw new QmpCommandError('DeviceNotFound', `Device '${path}' not found`);
    if (property === 'type') return type;
    const dev = this.devices.find((d) => d.path === path);
    const notFound = (): QmpCommandError =>
      new QmpCommandError('GenericError', `Property '${type}.${property}' not found`);
    if (dev === undefined) throw notFound();
    if (property === 'realized' || property === 'hotpluggable') return true;
    if (property === 'hotplugged') return !dev.coldplug;
    const declared = this.properties.of(dev.driver)?.find((p) => p.name === property);
    if (declared === undefined) throw notFound();
    if (property === 'addr' && dev.devfn !== undefined) return dev.devfn;
    if (property === 'mac' && dev.nic) return dev.nic.mac;
    const v = dev.props[property];
    if (v !== undefined) return typedValue(declared.type, optionString(v));
    if (declared['default-value'] !== undefined) return declared['default-value'];
    if (declared.type === 'str') return '';
    throw notFound();
  }
}
