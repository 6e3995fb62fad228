import { QmpCommandError } from '../errors/qmp-command-error.js';
import type { QapiSchema } from '../schema/qapi-schema.js';
import { SimGuestExec } from './sim-guest-exec.js';
import { SimGuestFs } from './sim-guest-fs.js';

/** A guest agent command handler: checked arguments in, the `return` value out (or a throw). */
export type SimGuestHandler = (args: Record<string, unknown>) => unknown;

/** What the agent's commands need from the simulated machine. */
export interface SimGuestHost {
  /** The guest's host name (`-name`, else `sim`). */
  readonly hostName: string;
  /** The agent's version, as `guest-info` reports it. */
  readonly version: string;
  /** The guest powers off, halts or reboots (`guest-shutdown`). */
  shutdown(mode: 'powerdown' | 'halt' | 'reboot'): void;
}

function num(v: unknown): number {
  return typeof v === 'bigint' ? Number(v) : (v as number);
}

const STATS = {
  'rx-bytes': 1_048_576,
  'rx-packets': 1024,
  'rx-errs': 0,
  'rx-dropped': 0,
  'tx-bytes': 65_536,
  'tx-packets': 512,
  'tx-errs': 0,
  'tx-dropped': 0,
};

/**
 * The simulated guest's answers to the agent's commands, as a Debian 12 guest with qemu-ga 7.2
 * gives them: files on an in-memory file system, programs from a small built-in set.
 */
export class SimGuestCommands {
  readonly fs: SimGuestFs;
  readonly exec: SimGuestExec;
  readonly handlers = new Map<string, SimGuestHandler>();

  constructor(schema: QapiSchema, host: SimGuestHost, blocked: (name: string) => boolean) {
    this.fs = new SimGuestFs(host.hostName);
    this.exec = new SimGuestExec(this.fs);
    const h = this.handlers;
    h.set('guest-sync', (a) => a['id']);
    h.set('guest-sync-delimited', (a) => a['id']);
    h.set('guest-ping', () => ({}));
    h.set('guest-info', () => ({
      version: host.version,
      supported_commands: schema.commands().map((c) => ({
        enabled: !blocked(c.name),
        name: c.name,
        'success-response': c.successResponse,
      })),
    }));
    h.set('guest-get-osinfo', () => ({
      name: 'Debian GNU/Linux',
      'kernel-release': '6.1.0-28-amd64',
      version: '12 (bookworm)',
      'pretty-name': 'Debian GNU/Linux 12 (bookworm)',
      'version-id': '12',
      'kernel-version': '#1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22)',
      machine: 'x86_64',
      id: 'debian',
    }));
    h.set('guest-get-time', () => BigInt(Date.now()) * 1_000_000n);
    h.set('guest-get-host-name', () => ({ 'host-name': host.hostName }));
    h.set('guest-get-timezone', () => ({ zone: 'UTC', offset: 0 }));
    h.set('guest-get-users', () => []);
    h.set('guest-network-get-interfaces', () => [
      {
        name: 'lo',
        'ip-addresses': [
          { 'ip-address-type': 'ipv4', 'ip-address': '127.0.0.1', prefix: 8 },
          { 'ip-address-type': 'ipv6', 'ip-address': '::1', prefix: 128 },
        ],
        statistics: STATS,
        'hardware-address': '00:00:00:00:00:00',
      },
      {
        name: 'eth0',
        'ip-addresses': [
          { 'ip-address-type': 'ipv4', 'ip-address': '10.0.2.15', prefix: 24 },
          { 'ip-address-type': 'ipv6', 'ip-address': 'fe80::5054:ff:fe12:3456', prefix: 64 },
        ],
        statistics: STATS,
        'hardware-address': '52:54:00:12:34:56',
      },
    ]);
    h.set('guest-exec', (a) => {
      const capture = a['capture-output'];
      return this.exec.start(
        String(a['path']),
        (a['arg'] as string[] | undefined) ?? [],
        Buffer.from(typeof a['input-data'] === 'string' ? a['input-data'] : '', 'base64'),
        capture === true || capture === 'separated' || capture === 'merged',
      );
    });
    h.set('guest-exec-status', (a) => this.exec.status(num(a['pid'])));
    h.set('guest-file-open', (a) =>
      this.fs.open(String(a['path']), typeof a['mode'] === 'string' ? a['mode'] : undefined),
    );
    h.set('guest-file-read', (a) =>
      this.fs.read(num(a['handle']), a['count'] === undefined ? undefined : num(a['count'])),
    );
    h.set('guest-file-write', (a) => {
      const data = Buffer.from(String(a['buf-b64']), 'base64');
      return this.fs.write(num(a['handle']), data, a['count'] === undefined ? undefined : num(a['count']));
    });
    h.set('guest-file-seek', (a) => this.fs.seek(num(a['handle']), num(a['offset']), a['whence'] as number | string));
    h.set('guest-file-flush', (a) => {
      this.fs.flush(num(a['handle']));
      return {};
    });
    h.set('guest-file-close', (a) => {
      this.fs.close(num(a['handle']));
      return {};
    });
    h.set('guest-shutdown', (a) => {
      const mode = a['mode'] ?? 'powerdown';
      if (mode !== 'powerdown' && mode !== 'halt' && mode !== 'reboot') {
        throw new QmpCommandError('GenericError', `Parameter 'mode' expects "halt", "powerdown" or "reboot"`);
      }
      host.shutdown(mode);
      return {};
    });
  }
}
