// Network backends (`netdev_add`) and the NICs that use them: QEMU 7.2's net clients, their names,
// default MAC addresses, link state and receive filters. Nothing is ever opened: a `tap` or `socket`
// netdev is only recorded.
import { QmpCommandError } from '../errors/qmp-command-error.js';
import { isQemuIdentifier } from './qemu-identifier.js';

/** A backend from `netdev_add`. */
export interface SimNetdev {
  id: string;
  type: string;
  options: Record<string, unknown>;
  linkUp: boolean;
  /** The NIC using it, if any. */
  nic: SimNic | undefined;
}

/** A NIC's net client. */
export interface SimNic {
  /** Net client name: the qdev id, or `MODEL.N` for a device without one. */
  name: string;
  model: string;
  /** `52:54:00:12:34:56` form, lower case. */
  mac: string;
  netdev: SimNetdev | undefined;
  linkUp: boolean;
}

/** Netdev types the simulator records; the rest of QEMU's answer that they are not simulated. */
const SIMULATED_TYPES: ReadonlySet<string> = new Set(['user', 'tap', 'socket', 'hubport']);
/** QEMU's default MACs: 52:54:00:12:34:56 for the first NIC without one, then upwards. */
const DEFAULT_MAC_PREFIX = '52:54:00:12:34:';
const DEFAULT_MAC_FIRST = 0x56;
/** The VLAN ids a fresh virtio-net accepts, as query-rx-filter lists them (every one, highest first). */
const VLAN_IDS = 4096;

/** Net clients of the simulated machine. */
export class SimNetwork {
  readonly netdevs = new Map<string, SimNetdev>();
  readonly nics: SimNic[] = [];

  /** `netdev_add`, with QEMU 7.2's checks and texts. */
  add(args: Record<string, unknown>): void {
    const type = String(args['type']);
    const id = String(args['id']);
    if (!isQemuIdentifier(id)) throw new QmpCommandError('GenericError', "Parameter 'id' expects an identifier");
    if (this.netdevs.has(id)) throw new QmpCommandError('GenericError', `Duplicate ID '${id}'`);
    if (!SIMULATED_TYPES.has(type)) {
      throw new QmpCommandError(
        'GenericError',
        `The simulated QEMU (qmpkit sim) does not implement netdev_add of type '${type}'`,
      );
    }
    if (type === 'tap') checkTap(id, args);
    if (type === 'socket') checkSocket(id, args);
    const { type: _t, id: _i, ...options } = args;
    this.netdevs.set(id, { id, type, options, linkUp: true, nic: undefined });
  }

  /** `netdev_del`. A NIC keeps its (now unnamed) backend until it goes, as in QEMU. */
  del(id: string): void {
    const nd = this.netdevs.get(id);
    if (nd === undefined) throw new QmpCommandError('DeviceNotFound', `Device '${id}' not found`);
    this.netdevs.delete(id);
  }

  /** Checks a NIC's `netdev` property value; returns the backend. */
  backendFor(driver: string, value: string): SimNetdev {
    const nd = this.netdevs.get(value);
    if (nd === undefined)
      throw new QmpCommandError('GenericError', `Property '${driver}.netdev' can't find value '${value}'`);
    if (nd.nic !== undefined)
      throw new QmpCommandError('GenericError', `Property '${driver}.netdev' can't take value '${value}', it's in use`);
    return nd;
  }

  /** Creates the net client of a NIC that was realized. */
  attach(model: string, id: string | undefined, mac: string | undefined, netdev: SimNetdev | undefined): SimNic {
    const name = id ?? `${model}.${this.nics.filter((n) => n.model === model).length}`;
    const nic: SimNic = {
      name,
      model,
      mac: mac?.toLowerCase().replaceAll('-', ':') ?? this.#freeMac(),
      netdev,
      linkUp: true,
    };
    if (netdev) netdev.nic = nic;
    this.nics.push(nic);
    return nic;
  }

  detach(nic: SimNic): void {
    const i = this.nics.indexOf(nic);
    if (i !== -1) this.nics.splice(i, 1);
    if (nic.netdev) nic.netdev.nic = undefined;
  }

  #freeMac(): string {
    for (let b = DEFAULT_MAC_FIRST; ; b++) {
      const mac = `${DEFAULT_MAC_PREFIX}${b.toString(16).padStart(2, '0')}`;
      if (!this.nics.some((n) => n.mac === mac)) return mac;
    }
  }

  /** `set_link`: by net client name (a NIC's or a netdev's). A NIC's backend follows it, as in QEMU. */
  setLink(name: string, up: boolean): void {
    const nic = this.nics.find((n) => n.name === name);
    const nd = this.netdevs.get(name);
    if (nic === undefined && nd === undefined)
      throw new QmpCommandError('DeviceNotFound', `Device '${name}' not found`);
    if (nic) {
      nic.linkUp = up;
      if (nic.netdev) nic.netdev.linkUp = up;
    }
    if (nd) {
      nd.linkUp = up;
      if (nd.nic) nd.nic.linkUp = up;
    }
  }

  /** `query-rx-filter`: what a fresh virtio-net filter reports (no guest driver changes it). */
  rxFilter(name: string | undefined): Array<Record<string, unknown>> {
    if (name !== undefined) {
      const nic = this.nics.find((n) => n.name === name);
      if (nic === undefined) {
        if (this.netdevs.has(name)) throw new QmpCommandError('GenericError', `net client(${name}) isn't a NIC`);
        throw new QmpCommandError('GenericError', `invalid net client name: ${name}`);
      }
      if (nic.model !== 'virtio-net-pci')
        throw new QmpCommandError('GenericError', `net client(${name}) doesn't support rx-filter querying`);
      return [rxFilterInfo(nic)];
    }
    return this.nics.filter((n) => n.model === 'virtio-net-pci').map(rxFilterInfo);
  }
}

function rxFilterInfo(nic: SimNic): Record<string, unknown> {
  return {
    name: nic.name,
    promiscuous: true,
    multicast: 'normal',
    unicast: 'normal',
    vlan: 'all',
    'broadcast-allowed': false,
    'multicast-overflow': false,
    'unicast-overflow': false,
    'main-mac': nic.mac,
    'vlan-table': Array.from({ length: VLAN_IDS }, (_, i) => VLAN_IDS - 1 - i),
    'unicast-table': [],
    'multicast-table': [],
  };
}

function checkTap(id: string, args: Record<string, unknown>): void {
  const fd = args['fd'];
  if (typeof fd !== 'string') return;
  // No descriptor is ever passed to the simulator: a name is not found, a number is not open.
  if (/^\d+$/.test(fd))
    throw new QmpCommandError('GenericError', `${id}: Can't use file descriptor ${fd}: Bad file descriptor`);
  throw new QmpCommandError('GenericError', `File descriptor named '${fd}' has not been found`);
}

function checkSocket(id: string, args: Record<string, unknown>): void {
  const given = ['fd', 'listen', 'connect', 'mcast', 'udp'].filter((k) => args[k] !== undefined);
  if (given.length !== 1) {
    throw new QmpCommandError('GenericError', 'exactly one of listen=, connect=, mcast= or udp= is required');
  }
  if (given[0] === 'fd') {
    checkTap(id, args);
    return;
  }
  const addr = args[given[0] ?? ''];
  if (typeof addr === 'string' && !addr.includes(':')) {
    throw new QmpCommandError('GenericError', `host address '${addr}' doesn't contain ':' separating host from port`);
  }
}
