import { createRequire } from 'node:module';
import { isIP, connect as netConnect, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';
import { QmpAbortedError, QmpConnectionError, QmpTimeoutError, QmpUsageError } from '../errors/qmp-error.js';
import { DEFAULT_CONNECT_TIMEOUT_MS } from '../limits.js';
import { formatAddress, parseAddress, type QmpAddress } from './address.js';
import { type QmpOutstandingProbe, TlsWakeupStream } from './tls-wakeup.js';

/** TLS options for a TCP address: `node:tls` connection options (`ca`, `cert`, `key`, `servername`, ...). */
export type QmpTlsOptions = Pick<
  ConnectionOptions,
  | 'ca'
  | 'cert'
  | 'key'
  | 'passphrase'
  | 'pfx'
  | 'servername'
  | 'rejectUnauthorized'
  | 'checkServerIdentity'
  | 'minVersion'
>;

/** Options of {@link connectTransport}. */
export interface QmpConnectOptions {
  /** Deadline for the socket (and TLS handshake), in ms. Default {@link DEFAULT_CONNECT_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Cancels the attempt. */
  signal?: AbortSignal | undefined;
  /**
   * TLS over TCP. Certificates are verified by default (`rejectUnauthorized` stays true unless you
   * set it false). `true` means TLS with the system CAs.
   */
  tls?: QmpTlsOptions | true | undefined;
}

/** What a connected transport is: a stream, plus a label naming the peer for errors and traces. */
export interface QmpTransport {
  readonly stream: Duplex;
  readonly label: string;
  /**
   * Set for TLS: the stream wakes QEMU 7.2's stalled TLS reader while requests are outstanding, and
   * the session tells it how many are.
   */
  readonly outstanding?: QmpOutstandingProbe;
}

const HINTS: Record<string, string> = {
  ENOENT: 'no such socket (is QEMU running with -qmp on this path?)',
  ECONNREFUSED: 'connection refused (nothing is listening there)',
  EACCES: 'permission denied (check the socket file and its directory permissions)',
  EPERM: 'operation not permitted',
  ENOTSOCK: 'the path is not a socket',
  ETIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENOTFOUND: 'host name not found',
};

function describe(err: NodeJS.ErrnoException, label: string): QmpConnectionError {
  const code = err.code ?? 'ERROR';
  const why = HINTS[code] ?? err.message;
  return new QmpConnectionError('QMP_ERR_CONNECT', `Cannot connect to ${label}: ${code}: ${why}`, {
    address: label,
    syscallCode: err.code,
    cause: err,
  });
}

/**
 * A TLS failure the server reported after our side of the handshake was done: with TLS 1.3 a server
 * that refuses our certificate (missing, or signed by a CA it does not trust) says so only after
 * `secureConnect`, with an alert.
 */
function tlsRefusal(err: NodeJS.ErrnoException, label: string): QmpConnectionError | undefined {
  if (typeof err.code !== 'string' || !err.code.startsWith('ERR_SSL_')) return undefined;
  return new QmpConnectionError(
    'QMP_ERR_CONNECT',
    `Cannot connect to ${label}: the TLS handshake was refused (${err.code}: ${err.message.trim()}); does the server require a client certificate signed by a CA it trusts?`,
    { address: label, syscallCode: err.code, cause: err },
  );
}

function isDuplex(v: unknown): v is Duplex {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as Duplex).write === 'function' &&
    typeof (v as Duplex).on === 'function'
  );
}

/**
 * Opens a connection to a QMP server: a socket path, `host:port`, `unix:PATH`, `tcp:HOST:PORT`
 * (QEMU's `,server=on,wait=off` suffixes are ignored here), `fd:N`, or an already connected `Duplex`,
 * which is used as is. Rejects with `QMP_ERR_CONNECT` naming the address (ENOENT, ECONNREFUSED,
 * EACCES...), `QMP_ERR_CONNECT_TIMEOUT`, or `QMP_ERR_ABORTED`.
 */
export function connectTransport(
  target: string | QmpAddress | Duplex,
  options: QmpConnectOptions = {},
): Promise<QmpTransport> {
  if (isDuplex(target)) return Promise.resolve({ stream: target, label: 'stream' });
  let addr: QmpAddress;
  try {
    addr = typeof target === 'string' ? parseAddress(target) : target;
  } catch (err) {
    return Promise.reject(err);
  }
  const label = typeof target === 'string' ? target : formatAddress(addr);
  const timeoutMs = options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const useTls = options.tls !== undefined;
  if (useTls && addr.kind !== 'tcp') {
    return Promise.reject(new QmpUsageError(`TLS needs a TCP address, not ${label}`));
  }
  if (addr.kind === 'stdio')
    return Promise.reject(new QmpUsageError('A client cannot connect to "stdio"; give a socket address'));
  if (options.signal?.aborted) {
    return Promise.reject(new QmpAbortedError(`Connecting to ${label} was aborted`, { cause: options.signal.reason }));
  }
  return new Promise<QmpTransport>((resolve, reject) => {
    let sock: Socket;
    const readyEvent = useTls ? 'secureConnect' : 'connect';
    if (addr.kind === 'unix') sock = netConnect({ path: addr.path, allowHalfOpen: true });
    else if (addr.kind === 'fd') sock = netConnectFd(addr.fd);
    else if (useTls) {
      const tlsOpts: ConnectionOptions = options.tls === true ? {} : { ...options.tls };
      // SNI carries host names only (RFC 6066); Node warns when given an IP literal.
      const sni = isIP(addr.host) === 0 ? { servername: addr.host } : {};
      sock = loadTls().connect({ host: addr.host, port: addr.port, ...sni, ...tlsOpts });
    } else sock = netConnect({ host: addr.host, port: addr.port, allowHalfOpen: true });
    const timer = setTimeout(() => {
      finish(
        new QmpTimeoutError(`Connecting to ${label} timed out after ${timeoutMs} ms`, timeoutMs, {
          code: 'QMP_ERR_CONNECT_TIMEOUT',
        }),
      );
    }, timeoutMs);
    const onAbort = (): void =>
      finish(new QmpAbortedError(`Connecting to ${label} was aborted`, { cause: options.signal?.reason }));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const onError = (err: NodeJS.ErrnoException): void =>
      finish((useTls ? tlsRefusal(err, label) : undefined) ?? describe(err, label));
    function finish(err?: Error): void {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      sock.off('error', onError);
      sock.off(readyEvent, onReady);
      sock.off('readable', onFirstBytes);
      if (err) {
        sock.destroy();
        reject(err);
      } else if (useTls) {
        const stream = new TlsWakeupStream(sock);
        resolve({ stream, label, outstanding: stream });
      } else resolve({ stream: sock, label });
    }
    function onReady(): void {
      sock.setNoDelay(true);
      // Over TLS the server's verdict on our certificate arrives after secureConnect: wait for its
      // first bytes (QMP servers speak first) or its refusal, without reading anything.
      if (useTls) sock.once('readable', onFirstBytes);
      else finish();
    }
    function onFirstBytes(): void {
      // 'readable' with nothing to read is the end: a TLS server that drops us right after the
      // handshake (Node's does when our certificate is signed by a CA it does not trust).
      if (sock.readableLength > 0) finish();
      else
        finish(
          new QmpConnectionError(
            'QMP_ERR_CONNECT',
            `Cannot connect to ${label}: the server closed the TLS connection before saying anything (did it refuse our client certificate?)`,
            { address: label },
          ),
        );
    }
    sock.once('error', onError);
    if (addr.kind === 'fd') queueMicrotask(onReady);
    else sock.once(readyEvent, onReady);
  });
}

// node:tls brings in crypto, which costs a one-shot command a tenth of its start-up: it is loaded
// only when a TLS connection is made.
const requireBuiltin = createRequire(import.meta.url);

function loadTls(): typeof import('node:tls') {
  return requireBuiltin('node:tls') as typeof import('node:tls');
}

function netConnectFd(fd: number): Socket {
  // An inherited, already connected socket (e.g. a socketpair end passed by a launcher).
  return new Socket({ fd, readable: true, writable: true, allowHalfOpen: true });
}
