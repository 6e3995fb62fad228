// A QmpServer configured like the recorded QEMU 7.2.22 with small stub handlers, enough to replay
// the golden transcripts. The argument checker is a tiny test-only stand-in for the QAPI schema
// validator (same contract as QmpServerSchema), covering only the commands the transcripts use.
import { QmpCommandError } from '../../src/errors/index.js';
import { QmpServer, type QmpServerOptions, type QmpServerSchema } from '../../src/server/index.js';
import { QNum, RawJson } from '../../src/wire/index.js';
import { VERSION_7_2 } from './helpers.js';

type T = 'str' | 'int' | 'bool' | 'number' | { enum: readonly string[] } | { list: T } | { struct: Members };
type Members = Readonly<Record<string, { type: T; optional?: boolean }>>;

const NONE: Members = {};
const ARG_TYPES: Readonly<Record<string, { members: Members; allowOob?: boolean }>> = {
  'query-status': { members: NONE },
  'query-version': { members: NONE },
  'query-name': { members: NONE },
  'query-kvm': { members: NONE },
  'query-cpus-fast': { members: NONE },
  'query-balloon': { members: NONE },
  'query-block': { members: NONE },
  'query-commands': { members: NONE },
  'query-qmp-schema': { members: NONE },
  stop: { members: NONE },
  cont: { members: NONE },
  quit: { members: NONE },
  system_reset: { members: NONE },
  system_powerdown: { members: NONE },
  system_wakeup: { members: NONE },
  'migrate-pause': { members: NONE, allowOob: true },
  'human-monitor-command': {
    members: { 'command-line': { type: 'str' }, 'cpu-index': { type: 'int', optional: true } },
  },
  device_del: { members: { id: { type: 'str' } } },
  'qom-list': { members: { path: { type: 'str' } } },
  'qom-get': { members: { path: { type: 'str' }, property: { type: 'str' } } },
  balloon: { members: { value: { type: 'int' } } },
  getfd: { members: { fdname: { type: 'str' } } },
  'object-del': { members: { id: { type: 'str' } } },
  eject: {
    members: {
      device: { type: 'str', optional: true },
      id: { type: 'str', optional: true },
      force: { type: 'bool', optional: true },
    },
  },
  'blockdev-change-medium': {
    members: {
      device: { type: 'str', optional: true },
      id: { type: 'str', optional: true },
      filename: { type: 'str' },
      format: { type: 'str', optional: true },
      force: { type: 'bool', optional: true },
      'read-only-mode': { type: { enum: ['retain', 'read-only', 'read-write'] }, optional: true },
    },
  },
};

function typeName(t: T): string {
  if (t === 'str' || typeof t === 'object')
    return typeof t === 'object' && 'list' in t
      ? 'array'
      : typeof t === 'object' && 'struct' in t
        ? 'object'
        : 'string';
  return t === 'int' ? 'integer' : t === 'bool' ? 'boolean' : 'number';
}

function check(t: T, v: unknown, path: string, name: string): string | undefined {
  const bad = `Invalid parameter type for '${path}', expected: ${typeName(t)}`;
  if (t === 'str') return typeof v === 'string' ? undefined : bad;
  if (t === 'bool') return typeof v === 'boolean' ? undefined : bad;
  if (t === 'int') return v instanceof QNum && v.kind !== 'double' ? undefined : bad;
  if (t === 'number') return v instanceof QNum ? undefined : bad;
  if ('enum' in t) {
    if (typeof v !== 'string') return bad;
    return t.enum.includes(v) ? undefined : `Parameter '${name}' does not accept value '${v}'`;
  }
  if ('list' in t) {
    if (!Array.isArray(v)) return bad;
    for (const [i, x] of v.entries()) {
      const e = check(t.list, x, `${path}[${i}]`, 'null');
      if (e !== undefined) return e;
    }
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof QNum) return bad;
  return checkMembers(t.struct, v as Record<string, unknown>, path);
}

function checkMembers(members: Members, obj: Record<string, unknown>, prefix: string): string | undefined {
  for (const [name, m] of Object.entries(members)) {
    const path = prefix === '' ? name : `${prefix}.${name}`;
    if (!Object.hasOwn(obj, name)) {
      if (m.optional) continue;
      return `Parameter '${path}' is missing`;
    }
    const e = check(m.type, obj[name], path, name);
    if (e !== undefined) return e;
  }
  for (const key of Object.keys(obj))
    if (!Object.hasOwn(members, key)) return `Parameter '${prefix === '' ? key : `${prefix}.${key}`}' is unexpected`;
  return undefined;
}

/** Test stand-in for QapiSchema: QEMU's texts for the shapes above. */
export const stubSchema: QmpServerSchema = {
  validateArguments(command, args, options) {
    const spec = ARG_TYPES[command];
    if (spec === undefined) return undefined;
    // Proves the server hands numbers over wrapped, so `1.0` can be told from `1`.
    for (const v of Object.values(args)) if (typeof v === 'number') throw new Error('numbers must arrive as QNum');
    void options.numberKind;
    const desc = checkMembers(spec.members, args as Record<string, unknown>, '');
    return desc === undefined ? undefined : { desc };
  },
  command(name) {
    const spec = ARG_TYPES[name];
    return spec === undefined ? undefined : { allowOob: spec.allowOob ?? false };
  },
};

/** Recorded replies the stub passes through verbatim (too big to rebuild by hand). */
export interface Recorded {
  queryCommands?: string;
  queryBlockWithMedia?: string;
  queryQmpSchema?: string;
}

/** A QmpServer like the recorded QEMU: 7.2.22, Debian package, `oob`, with stub handlers. */
export function stubQemu(
  machine: 'none' | 'q35' = 'none',
  recorded: Recorded = {},
  options: QmpServerOptions = {},
): QmpServer {
  const server = new QmpServer({ version: VERSION_7_2, capabilities: ['oob'], schema: stubSchema, ...options });
  let running = true;
  let trayOpen = false;
  let medium = machine === 'q35';
  const devices = new Map<string, { driver: string }>();
  const objects = new Set<string>();
  const notFound = (d: string): QmpCommandError => new QmpCommandError('DeviceNotFound', `Device '${d}' not found`);

  // StatusInfo members in schema order; QEMU's hash order then prints status first.
  server.register('query-status', () => ({ running, singlestep: false, status: running ? 'running' : 'paused' }));
  server.register('query-version', () => ({ qemu: { major: 7, minor: 2, micro: 22 }, package: VERSION_7_2.package }));
  server.register('query-name', () => ({}));
  server.register('query-kvm', () => ({ enabled: false, present: true }));
  server.register('query-cpus-fast', () => []);
  server.register('query-balloon', () => {
    throw new QmpCommandError('DeviceNotActive', 'No balloon device has been activated');
  });
  server.register('balloon', () => {
    throw new QmpCommandError('DeviceNotActive', 'No balloon device has been activated');
  });
  server.register('stop', (_a, ctx) => {
    if (running) {
      running = false;
      ctx.server.emit('STOP');
    }
  });
  server.register('cont', (_a, ctx) => {
    if (!running) {
      running = true;
      ctx.server.emit('RESUME');
    }
  });
  server.register('system_reset', (_a, ctx) => {
    ctx.server.emit('RESET', { guest: false, reason: 'host-qmp-system-reset' });
    // The guest's own reboot comes from the main loop, after the reply.
    ctx.afterReply(() => ctx.server.emit('RESET', { guest: true, reason: 'guest-reset' }));
  });
  server.register('system_powerdown', (_a, ctx) => ctx.server.emit('POWERDOWN'));
  server.register('system_wakeup', () => {
    throw new Error('wake-up from suspend is not supported by this guest');
  });
  server.register('quit', (_a, ctx) => {
    ctx.server.emit('SHUTDOWN', { guest: false, reason: 'host-qmp-quit' });
    ctx.afterReply(() => void ctx.session.close());
  });
  server.register('migrate-pause', () => {
    throw new Error('migrate-pause is currently only supported during postcopy-active state');
  });
  server.register('human-monitor-command', (args) => {
    const line = String(args['command-line']);
    if (line === '') return '';
    if (line === 'info status') return `VM status: ${running ? 'running' : 'paused'}\r\n`;
    return `unknown command: '${line.split(' ')[0]}'\r\n`;
  });
  server.register('qom-list', () => [{ name: 'type', type: 'string' }]);
  server.register('qom-get', (args) => {
    if (args['path'] !== '/machine') throw notFound(String(args['path']));
    return 'none-machine';
  });
  server.register('object-add', (args) => {
    const id = String(args['id']);
    if (objects.has(id)) throw new Error(`attempt to add duplicate property '${id}' to object (type 'container')`);
    objects.add(id);
  });
  server.register('object-del', (args) => {
    const id = String(args['id']);
    if (!objects.delete(id)) throw new Error(`object '${id}' not found`);
  });
  server.register('getfd', () => {
    throw new Error('No file descriptor supplied via SCM_RIGHTS');
  });
  server.register('eject', (args, ctx) => {
    const { device, id } = args as { device?: string; id?: string };
    if ((device === undefined) === (id === undefined)) throw new Error("Need exactly one of 'device' and 'id'");
    if ((device !== undefined && device !== 'cd0') || (id !== undefined && id !== 'ide1-cd0'))
      throw notFound(String(device ?? id));
    if (!trayOpen) {
      trayOpen = true;
      ctx.server.emit('DEVICE_TRAY_MOVED', { device: 'cd0', 'tray-open': true, id: 'ide1-cd0' });
    }
    medium = false;
  });
  server.register('blockdev-change-medium', (_args, ctx) => {
    if (!trayOpen) ctx.server.emit('DEVICE_TRAY_MOVED', { device: 'cd0', 'tray-open': true, id: 'ide1-cd0' });
    medium = true;
    trayOpen = false;
    ctx.server.emit('DEVICE_TRAY_MOVED', { device: 'cd0', 'tray-open': false, id: 'ide1-cd0' });
  });
  server.register('query-block', () => {
    if (machine === 'none') return [];
    if (medium && recorded.queryBlockWithMedia !== undefined) return new RawJson(recorded.queryBlockWithMedia);
    // Members in schema order (BlockInfo), so QEMU's hash order comes out of the writer.
    return [
      {
        device: 'cd0',
        qdev: 'ide1-cd0',
        type: 'unknown',
        removable: true,
        locked: false,
        tray_open: trayOpen,
        'io-status': 'ok',
      },
    ];
  });
  server.register('device_add', (args) => {
    const { driver, id, bus } = args as { driver?: string; id?: string; bus?: string };
    if (driver === undefined) throw new Error("Parameter 'driver' is missing");
    if (driver !== 'usb-kbd' && driver !== 'virtio-net-pci')
      throw new Error(`'${driver}' is not a valid device model name`);
    if (bus !== undefined && bus !== 'xhci.0' && bus !== 'rp1') throw new Error(`Bus '${bus}' not found`);
    if (id !== undefined && devices.has(id)) throw new Error(`Duplicate device ID '${id}'`);
    if (id !== undefined) devices.set(id, { driver });
  });
  server.register('device_del', (args, ctx) => {
    const id = String(args['id']);
    const dev = devices.get(id);
    if (dev === undefined) throw notFound(id);
    // USB unplug completes at once, after the reply; PCIe waits for a guest that never answers.
    if (dev.driver === 'usb-kbd') {
      devices.delete(id);
      ctx.afterReply(() => ctx.server.emit('DEVICE_DELETED', { device: id, path: `/machine/peripheral/${id}` }));
    }
  });
  if (recorded.queryCommands !== undefined) {
    const text = recorded.queryCommands;
    server.register('query-commands', () => new RawJson(text));
  }
  if (recorded.queryQmpSchema !== undefined) {
    const text = recorded.queryQmpSchema;
    server.register('query-qmp-schema', () => new RawJson(text));
  }
  return server;
}
