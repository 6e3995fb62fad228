import type { QValue } from '../wire/index.js';

/** A host path (or something that runs on the host) named by a command's arguments. */
export interface QmpHostPathArgument {
  /** The member, dotted from the arguments (`backend.data.out`). */
  readonly member: string;
  /** The path as QEMU will use it (a `file:` prefix taken off). */
  readonly path: string;
  /** True when the value cannot be checked as a path: a program, a script or a shell command. */
  readonly opaque: boolean;
}

// Members that name a host file, directory, socket or device wherever they appear in QEMU 7.2's
// schema (blockdev-add's drivers, object-add's backends, netdev_add, chardev socket addresses,
// screendump, memsave/pmemsave, dump-skeys, blockdev-change-medium, block-export-add...).
const PATH_MEMBERS = new Set([
  'filename',
  'dir',
  'mem-path',
  'evdev',
  'logfile',
  'sock',
  'config',
  'mountpoint',
  'snapshot-file',
  'backing-file',
  'dh-cert-file',
  'session-file',
  'sev-device',
  'vhostdev',
  'tftp',
  'smb',
  'romfile',
  'sysfsdev',
]);

// Members that make QEMU run a program: no path prefix makes them safe.
const PROGRAM_MEMBERS = new Set(['script', 'downscript', 'helper']);

/** Members that are host paths only in some commands. */
function commandPathMember(command: string, member: string): boolean {
  switch (member) {
    case 'path':
      // qom-get/qom-set/qom-list take QOM paths; everywhere else `path` is a socket or device file.
      return !command.startsWith('qom-');
    case 'file':
      // For block commands a string `file` is a node name; for object-add (secret) it is a file.
      return !command.startsWith('blockdev-');
    case 'device':
    case 'in':
    case 'out':
      // Chardev backends: a host serial/parallel device, the files a `file` chardev reads and writes.
      return command === 'chardev-add' || command === 'chardev-change';
    case 'target':
      return command === 'drive-backup' || command === 'drive-mirror';
    default:
      return false;
  }
}

/** A URI-like value: `file:PATH` and `unix:PATH` are paths, `exec:` runs a shell command. */
function uriPath(command: string, member: string, value: string): QmpHostPathArgument | undefined {
  if (member === 'uri' && (command === 'migrate' || command === 'migrate-incoming')) {
    if (value.startsWith('exec:')) return { member, path: value, opaque: true };
    for (const prefix of ['unix:', 'file:'])
      if (value.startsWith(prefix)) return { member, path: value.slice(prefix.length), opaque: false };
    return undefined;
  }
  if (member === 'protocol' && command === 'dump-guest-memory' && value.startsWith('file:'))
    return { member, path: value.slice('file:'.length), opaque: false };
  if (member === 'command-line' && command === 'human-monitor-command') return { member, path: value, opaque: true }; // HMP can do anything, paths included.
  return undefined;
}

function walk(command: string, value: QValue, dotted: string, out: QmpHostPathArgument[]): void {
  if (Array.isArray(value)) {
    for (const v of value) walk(command, v, dotted, out);
    return;
  }
  if (!(value instanceof Map)) return;
  for (const [key, v] of value) {
    const member = dotted === '' ? key : `${dotted}.${key}`;
    if (typeof v === 'string') {
      const uri = uriPath(command, key, v);
      if (uri !== undefined) out.push({ ...uri, member });
      else if (PROGRAM_MEMBERS.has(key)) out.push({ member, path: v, opaque: true });
      else if (PATH_MEMBERS.has(key) || commandPathMember(command, key)) out.push({ member, path: v, opaque: false });
    } else walk(command, v, member, out);
  }
}

/**
 * The host paths a command's arguments name, as QEMU 7.2 would use them. Unknown members are not
 * guessed at: a profile should allow only the commands it means to.
 */
export function hostPathArguments(command: string, args: ReadonlyMap<string, QValue>): QmpHostPathArgument[] {
  const out: QmpHostPathArgument[] = [];
  walk(command, args as Map<string, QValue>, '', out);
  return out;
}
