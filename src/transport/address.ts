import { QmpUsageError } from '../errors/qmp-error.js';

/** Options after the first comma of a QEMU-style address (`server=on`, `wait=off`, legacy `server`, `nowait`). */
export type QmpAddressOptions = Readonly<Record<string, string>>;

/** A parsed QMP address, in the forms users already type. */
export type QmpAddress =
  | { readonly kind: 'unix'; readonly path: string; readonly options: QmpAddressOptions }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number; readonly options: QmpAddressOptions }
  | { readonly kind: 'stdio'; readonly options: QmpAddressOptions }
  | { readonly kind: 'fd'; readonly fd: number; readonly options: QmpAddressOptions };

function parseOptions(parts: readonly string[], text: string): QmpAddressOptions {
  const out: Record<string, string> = Object.create(null);
  for (const part of parts) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq === -1) {
      // QEMU's legacy boolean spelling: `server` means server=on, `nowait` means wait=off.
      if (part.startsWith('no') && part.length > 2) out[part.slice(2)] = 'off';
      else out[part] = 'on';
    } else {
      const key = part.slice(0, eq);
      if (key === '') throw new QmpUsageError(`Invalid address '${text}': empty option name in '${part}'`);
      out[key] = part.slice(eq + 1);
    }
  }
  return out;
}

function parsePort(port: string, text: string): number {
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) {
    throw new QmpUsageError(`Invalid address '${text}': '${port}' is not a TCP port (0-65535)`);
  }
  return Number(port);
}

/** Splits `HOST:PORT` where HOST may be a bracketed IPv6 literal (`[::1]:4444`). */
function parseHostPort(hp: string, text: string): { host: string; port: number } {
  if (hp.startsWith('[')) {
    const close = hp.indexOf(']');
    if (close === -1 || hp[close + 1] !== ':')
      throw new QmpUsageError(`Invalid address '${text}': expected [HOST]:PORT`);
    return { host: hp.slice(1, close), port: parsePort(hp.slice(close + 2), text) };
  }
  const colon = hp.lastIndexOf(':');
  if (colon === -1) throw new QmpUsageError(`Invalid address '${text}': expected HOST:PORT`);
  const host = hp.slice(0, colon);
  return { host: host === '' ? 'localhost' : host, port: parsePort(hp.slice(colon + 1), text) };
}

const HOST_PORT_RE = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]*):\d{1,5}$/;

/**
 * Parses a QMP address: `unix:PATH`, `tcp:HOST:PORT`, either with QEMU's `,server=on,wait=off` (or
 * legacy `,server,nowait`) suffixes, `stdio`, `fd:N`, a bare socket path, or a bare `host:port`.
 * Options are kept (the server uses them; connecting ignores them).
 */
export function parseAddress(text: string): QmpAddress {
  if (typeof text !== 'string' || text.trim() === '') throw new QmpUsageError('Invalid address: empty');
  const s = text.trim();
  if (s.startsWith('unix:')) {
    const [path = '', ...rest] = s.slice(5).split(',');
    if (path === '') throw new QmpUsageError(`Invalid address '${text}': unix: needs a socket path`);
    return { kind: 'unix', path, options: parseOptions(rest, text) };
  }
  if (s.startsWith('tcp:')) {
    const [hp = '', ...rest] = s.slice(4).split(',');
    const { host, port } = parseHostPort(hp, text);
    return { kind: 'tcp', host, port, options: parseOptions(rest, text) };
  }
  if (s === 'stdio' || s.startsWith('stdio,')) {
    return { kind: 'stdio', options: parseOptions(s.split(',').slice(1), text) };
  }
  if (s.startsWith('fd:')) {
    const [n = '', ...rest] = s.slice(3).split(',');
    if (!/^\d+$/.test(n)) throw new QmpUsageError(`Invalid address '${text}': fd: needs a file descriptor number`);
    return { kind: 'fd', fd: Number(n), options: parseOptions(rest, text) };
  }
  const [head = '', ...rest] = s.split(',');
  // A bare `host:port` is TCP; anything else (./qmp-sock, /run/qemu.sock, qmp-sock) is a unix path.
  if (!head.includes('/') && HOST_PORT_RE.test(head)) {
    const { host, port } = parseHostPort(head, text);
    return { kind: 'tcp', host, port, options: parseOptions(rest, text) };
  }
  return { kind: 'unix', path: head, options: parseOptions(rest, text) };
}

/** Formats an address back to QEMU's syntax (`unix:/p,server=on`), e.g. for messages and `query-chardev`. */
export function formatAddress(addr: QmpAddress): string {
  const opts = Object.entries(addr.options)
    .map(([k, v]) => `,${k}=${v}`)
    .join('');
  switch (addr.kind) {
    case 'unix':
      return `unix:${addr.path}${opts}`;
    case 'tcp':
      return `tcp:${addr.host.includes(':') ? `[${addr.host}]` : addr.host}:${addr.port}${opts}`;
    case 'stdio':
      return `stdio${opts}`;
    case 'fd':
      return `fd:${addr.fd}${opts}`;
  }
}

/** True when an option is on in QEMU's boolean spelling (`on`, `yes`, `true`). */
export function addressFlag(addr: QmpAddress, name: string, dflt: boolean): boolean {
  const v = addr.options[name];
  if (v === undefined) return dflt;
  return v === 'on' || v === 'yes' || v === 'true';
}
