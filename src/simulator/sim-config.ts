import { QmpUsageError } from '../errors/qmp-error.js';
import { type ConfigGroup, parseKeyValues, readConfigFile } from './qemu-options.js';
import { parseFaultSpec, type SimFaultSpec } from './sim-faults.js';
import type { SimGuestAgentFaults } from './sim-guest-agent.js';
import { guestAgentChannel, parseGuestAgentFaults, type SimGuestAgentConfig } from './sim-guest-agent-config.js';

/** One QMP monitor of the simulated QEMU. */
export interface SimMonitorConfig {
  /** Address for the server: `unix:PATH,server=on,wait=off`, `tcp:HOST:PORT,...`, `stdio`. */
  address: string;
  pretty: boolean;
  /** Wait for a client before starting, as QEMU does for `server=on` without `wait=off`. */
  wait: boolean;
  /** The chardev's label in `query-chardev` (`compat_monitor0` for `-qmp`). */
  label: string;
}

/** A `-drive`. */
export interface SimDriveConfig {
  id: string;
  media: 'disk' | 'cdrom';
  file: string | undefined;
  format: string | undefined;
  readonly: boolean;
  /** `if=` (`none` or `ide`). */
  interface: string;
}

/** A `-device`. */
export interface SimDeviceConfig {
  driver: string;
  props: Record<string, string>;
}

/** A `-netdev TYPE,id=ID,...`. */
export type SimNetdevConfig = Record<string, string>;

/** Everything the simulator needs from its command line. */
export interface SimConfig {
  monitors: SimMonitorConfig[];
  name: string | undefined;
  uuid: string | undefined;
  paused: boolean;
  machine: string;
  nodefaults: boolean;
  drives: SimDriveConfig[];
  devices: SimDeviceConfig[];
  netdevs: SimNetdevConfig[];
  /** `-no-shutdown`: stay alive (paused, state `shutdown`) when the guest shuts down. */
  noShutdown: boolean;
  version: { major: number; minor: number; micro: number };
  package: string;
  /** `-sim-debug-commands`: also register `x-sim-inject-io-error` (off so `query-commands` equals QEMU's). */
  debugCommands: boolean;
  /** `-sim-guest`: a cooperating guest acknowledges PCI unplug requests and ACPI power-down. */
  guest: boolean;
  /** `-sim-fault SPEC` (repeatable): faults to inject, see docs/simulator.md. */
  faults: SimFaultSpec[];
  /** The guest agent's channel (`-device virtserialport,chardev=ID,name=org.qemu.guest_agent.0`). */
  guestAgent?: SimGuestAgentConfig | undefined;
  /** `-sim-qga-fault`: faults of the simulated guest agent at start. */
  guestAgentFaults?: SimGuestAgentFaults;
}

/** Options QEMU users pass that change nothing the simulator shows. */
const IGNORED_WITH_ARG: ReadonlySet<string> = new Set([
  '-display',
  '-m',
  '-accel',
  '-smp',
  '-cpu',
  '-vga',
  '-serial',
  '-monitor',
  '-k',
  '-boot',
  '-rtc',
  '-global',
  '-object',
  '-nic',
  '-audiodev',
  '-D',
  '-d',
  '-L',
  '-bios',
  '-pidfile',
]);
const IGNORED_FLAGS: ReadonlySet<string> = new Set([
  '-nographic',
  '-enable-kvm',
  '-daemonize',
  '-no-reboot',
  '-no-user-config',
  '-snapshot',
  '-sandbox',
]);

const MACHINES: ReadonlyMap<string, string> = new Map<string, string>([
  ['pc', 'pc'],
  ['pc-i440fx-7.2', 'pc'],
  ['q35', 'q35'],
  ['pc-q35-7.2', 'q35'],
  ['none', 'none'],
]);

function onOff(v: string | undefined, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  return v === 'on' || v === 'yes' || v === 'true';
}

function serverAddress(opts: Record<string, string>, what: string): { address: string; wait: boolean } {
  const backend = opts['backend'];
  if (backend === 'stdio') return { address: 'stdio', wait: false };
  if (backend !== undefined && backend !== 'socket') {
    throw new QmpUsageError(
      `${what}: chardev backend '${backend}' is not supported by the simulator (use socket or stdio)`,
    );
  }
  if (!onOff(opts['server'], false))
    throw new QmpUsageError(`${what}: the simulator can only serve a socket chardev with server=on`);
  const wait = onOff(opts['wait'], true);
  if (opts['path'] !== undefined) return { address: `unix:${opts['path']},server=on,wait=off`, wait };
  if (opts['port'] !== undefined) {
    const host = opts['host'] ?? 'localhost';
    return { address: `tcp:${host.includes(':') ? `[${host}]` : host}:${opts['port']},server=on,wait=off`, wait };
  }
  throw new QmpUsageError(`${what}: needs path= or host=/port=`);
}

/** Turns a `-qmp`/`-qmp-pretty` address (QEMU syntax) into a monitor. */
function qmpMonitor(addr: string, pretty: boolean, label: string): SimMonitorConfig {
  if (addr === 'stdio') return { address: 'stdio', pretty, wait: false, label };
  const [head = '', ...rest] = addr.split(',');
  const opts = parseKeyValues(rest.join(','));
  let wait = false;
  if (head.startsWith('unix:') || head.startsWith('tcp:')) {
    if (!onOff(opts['server'], false)) throw new QmpUsageError(`-qmp ${addr}: the simulator needs server=on`);
    wait = onOff(opts['wait'], true);
    return { address: `${head},server=on,wait=off`, pretty, wait, label };
  }
  throw new QmpUsageError(
    `-qmp ${addr}: expected unix:PATH,server=on,wait=off, tcp:HOST:PORT,server=on,wait=off or stdio`,
  );
}

/** Parses the simulator's command line, in QEMU's own words. Unknown options are usage errors. */
export function parseSimArgs(argv: readonly string[]): SimConfig {
  const cfg: SimConfig = {
    monitors: [],
    name: undefined,
    uuid: undefined,
    paused: false,
    machine: 'pc',
    nodefaults: false,
    drives: [],
    devices: [],
    netdevs: [],
    noShutdown: false,
    version: { major: 7, minor: 2, micro: 22 },
    package: '',
    debugCommands: false,
    guest: false,
    faults: [],
  };
  const chardevs = new Map<string, Record<string, string>>();
  const mons: Record<string, string>[] = [];
  let compat = 0;
  const addGroups = (groups: ConfigGroup[]): void => {
    for (const g of groups) {
      if (g.group === 'chardev') chardevs.set(g.id ?? '', g.opts);
      else if (g.group === 'mon') mons.push(g.opts);
      else if (g.group === 'drive') addDrive({ ...(g.id ? { id: g.id } : {}), ...g.opts });
      else if (g.group === 'device') addDevice(g.opts['driver'] ?? '', { ...(g.id ? { id: g.id } : {}), ...g.opts });
      else if (g.group === 'netdev') cfg.netdevs.push({ ...(g.id ? { id: g.id } : {}), ...g.opts });
      else if (g.group === 'machine') setMachine(g.opts['type'] ?? cfg.machine);
      else if (g.group === 'name') cfg.name = g.opts['guest'];
      else throw new QmpUsageError(`-readconfig: group [${g.group}] is not supported by the simulator`);
    }
  };
  const setMachine = (type: string): void => {
    const m = MACHINES.get(type);
    if (!m) throw new QmpUsageError(`-machine ${type}: unsupported machine type (the simulator has pc, q35, none)`);
    cfg.machine = m;
  };
  const addDrive = (o: Record<string, string>): void => {
    const media = o['media'] === 'cdrom' ? 'cdrom' : 'disk';
    const iface = o['if'] ?? 'ide';
    let id = o['id'];
    if (id === undefined) {
      if (iface === 'none') throw new QmpUsageError('-drive if=none needs id=');
      const n = cfg.drives.filter((d) => d.media === media && d.interface === 'ide').length;
      id = media === 'cdrom' ? `ide1-cd${n}` : `ide0-hd${n}`;
    }
    cfg.drives.push({
      id,
      media,
      file: o['file'],
      format: o['format'],
      readonly: onOff(o['readonly'], media === 'cdrom'),
      interface: iface,
    });
  };
  const addDevice = (driver: string, props: Record<string, string>): void => {
    if (driver === '') throw new QmpUsageError("-device: Parameter 'driver' is missing");
    cfg.devices.push({ driver, props });
  };
  for (let i = 0; i < argv.length; i++) {
    const opt = argv[i] ?? '';
    const o = opt.startsWith('--') ? opt.slice(1) : opt;
    const arg = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new QmpUsageError(`${opt} requires an argument`);
      return v;
    };
    switch (o) {
      case '-qmp':
        cfg.monitors.push(qmpMonitor(arg(), false, `compat_monitor${compat++}`));
        break;
      case '-qmp-pretty':
        cfg.monitors.push(qmpMonitor(arg(), true, `compat_monitor${compat++}`));
        break;
      case '-chardev': {
        const kv = parseKeyValues(arg(), 'backend');
        if (kv['id'] === undefined) throw new QmpUsageError("-chardev: Parameter 'id' is missing");
        chardevs.set(kv['id'], kv);
        break;
      }
      case '-mon':
        mons.push(parseKeyValues(arg(), 'chardev'));
        break;
      case '-readconfig':
        addGroups(readConfigFile(arg()));
        break;
      case '-name': {
        const kv = parseKeyValues(arg(), 'guest');
        cfg.name = kv['guest'];
        break;
      }
      case '-uuid': {
        const u = arg();
        if (!/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(u)) {
          throw new QmpUsageError(`Fail to parse UUID string. Wrong format.`);
        }
        cfg.uuid = u.toLowerCase();
        break;
      }
      case '-S':
        cfg.paused = true;
        break;
      case '-M':
      case '-machine': {
        const kv = parseKeyValues(arg(), 'type');
        if (kv['type'] !== undefined) setMachine(kv['type']);
        break;
      }
      case '-drive':
        addDrive(parseKeyValues(arg()));
        break;
      case '-cdrom':
        addDrive({ media: 'cdrom', file: arg() });
        break;
      case '-hda':
        addDrive({ media: 'disk', file: arg() });
        break;
      case '-device': {
        const kv = parseKeyValues(arg(), 'driver');
        const driver = kv['driver'] ?? '';
        delete kv['driver'];
        addDevice(driver, kv);
        break;
      }
      case '-netdev':
        cfg.netdevs.push(parseKeyValues(arg(), 'type'));
        break;
      case '-nodefaults':
        cfg.nodefaults = true;
        break;
      case '-no-shutdown':
        cfg.noShutdown = true;
        break;
      case '-sim-version': {
        const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(arg());
        if (!m) throw new QmpUsageError('-sim-version expects MAJOR.MINOR.MICRO');
        cfg.version = { major: Number(m[1]), minor: Number(m[2]), micro: Number(m[3]) };
        break;
      }
      case '-sim-package':
        cfg.package = arg();
        break;
      case '-sim-debug-commands':
        cfg.debugCommands = true;
        break;
      case '-sim-guest':
        cfg.guest = true;
        break;
      case '-sim-fault':
        cfg.faults.push(parseFaultSpec(arg()));
        break;
      case '-sim-qga-fault':
      case '-sim-qga-block':
        parseGuestAgentFaults(arg(), (cfg.guestAgentFaults ??= {}), o === '-sim-qga-block');
        break;
      default:
        if (IGNORED_WITH_ARG.has(o)) {
          arg();
          break;
        }
        if (IGNORED_FLAGS.has(o)) break;
        throw new QmpUsageError(
          `${opt}: invalid option (the simulator supports: -qmp, -qmp-pretty, -chardev, -mon, -readconfig, -name, -uuid, -S, -machine, -drive, -cdrom, -hda, -device, -netdev, -nodefaults, -no-shutdown, -sim-*; see qmpkit sim --help)`,
        );
    }
  }
  for (const m of mons) {
    const mode = m['mode'] ?? 'readline';
    const id = m['chardev'];
    const pretty = onOff(m['pretty'], false);
    if (mode !== 'control') {
      if (pretty) throw new QmpUsageError("'pretty' is not compatible with HMP monitors");
      throw new QmpUsageError(`-mon chardev=${id ?? ''}: the simulator has no HMP monitor; use mode=control`);
    }
    if (id === undefined) throw new QmpUsageError("-mon: Parameter 'chardev' is missing");
    const ch = chardevs.get(id);
    if (!ch) throw new QmpUsageError(`chardev "${id}" not found`);
    const { address, wait } = serverAddress(ch, `-chardev id=${id}`);
    cfg.monitors.push({ address, pretty, wait, label: id });
  }
  cfg.guestAgent = guestAgentChannel(cfg.devices, chardevs, serverAddress);
  if (cfg.monitors.filter((m) => m.address === 'stdio').length > 1) {
    throw new QmpUsageError('cannot use stdio by multiple character devices');
  }
  return cfg;
}
