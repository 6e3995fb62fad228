import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer, type Server, type TLSSocket, type TlsOptions } from 'node:tls';
import { QmpConnectionError, QmpUsageError } from '../errors/index.js';
import { TLS_HANDSHAKE_TIMEOUT_MS } from '../limits.js';
import { parseAddress, type QmpAddress } from './address.js';

/** TLS server options: `node:tls` (`cert`, `key`, `ca`, `requestCert`, ...). */
export type QmpTlsServerOptions = Pick<
  TlsOptions,
  'cert' | 'key' | 'ca' | 'pfx' | 'passphrase' | 'requestCert' | 'rejectUnauthorized' | 'minVersion'
>;

/** What a TLS listener knows about an accepted client. */
export interface QmpTlsPeer {
  /** The client certificate's subject CN, when the client presented a verified certificate. */
  readonly commonName: string | undefined;
  readonly authorized: boolean;
}

/** Options of {@link listenTls} beyond the certificates. */
export interface QmpTlsListenOptions {
  /** A client that has not finished its handshake within this time is disconnected, in ms (default {@link TLS_HANDSHAKE_TIMEOUT_MS}). */
  handshakeTimeoutMs?: number;
  /**
   * Called with each TCP connection before its handshake; returning false closes it at once. The
   * socket emits `close` when the connection is gone, at whatever stage, so a caller can count
   * handshaking connections against its limits.
   */
  admit?: (socket: Socket) => boolean;
}

/** A listening TLS endpoint. */
export interface QmpTlsListener {
  readonly address: QmpAddress;
  readonly server: Server;
  /** Connections accepted and still in their handshake. */
  readonly handshaking: number;
  /** Stops listening and disconnects every client still in its handshake (accepted clients stay). */
  close(): Promise<void>;
}

function peerKey(s: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string {
  return `${s.remoteAddress ?? ''}|${s.remotePort ?? ''}`;
}

/**
 * Listens for TLS over TCP. With `requestCert: true` (and `rejectUnauthorized`, the default when
 * certificates are requested) only clients with a certificate signed by `ca` get through, and the
 * certificate's CN is passed on so per-client policies can use it. A connection that fails or
 * closes before its handshake completes, or does not complete it in time, is destroyed at once.
 */
export async function listenTls(
  address: string | QmpAddress,
  tls: QmpTlsServerOptions,
  onConnection: (stream: Duplex, peer: QmpTlsPeer) => void,
  options: QmpTlsListenOptions = {},
): Promise<QmpTlsListener> {
  const addr = typeof address === 'string' ? parseAddress(address) : address;
  if (addr.kind !== 'tcp') throw new QmpUsageError(`TLS listeners need a TCP address, not ${String(address)}`);
  // Raw sockets still in their handshake, by peer address (the TLS socket has the same one).
  const pending = new Map<string, Socket>();
  // Not half-open during the handshake: a peer's EOF then ends the connection instead of leaving it
  // in CLOSE-WAIT. Half-open is switched on once the session is secure (a QMP client may shut down
  // its side and still read the replies).
  const server = createServer(
    { ...tls, allowHalfOpen: false, handshakeTimeout: options.handshakeTimeoutMs ?? TLS_HANDSHAKE_TIMEOUT_MS },
    (sock: TLSSocket) => {
      pending.delete(peerKey(sock));
      sock.allowHalfOpen = true;
      const cert = sock.getPeerCertificate();
      const cn = cert && typeof cert.subject?.CN === 'string' ? cert.subject.CN : undefined;
      onConnection(sock, { commonName: sock.authorized ? cn : undefined, authorized: sock.authorized });
    },
  );
  server.on('connection', (raw: Socket) => {
    if (options.admit !== undefined && !options.admit(raw)) {
      raw.destroy();
      return;
    }
    const key = peerKey(raw);
    pending.set(key, raw);
    raw.once('close', () => {
      if (pending.get(key) === raw) pending.delete(key);
    });
  });
  // Node leaves a socket whose handshake failed (timeout, bad certificate, EOF) to this listener.
  server.on('tlsClientError', (_err, sock) => sock.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new QmpConnectionError('QMP_ERR_CONNECT', `Cannot listen on ${String(address)}: ${err.message}`, {
          syscallCode: err.code,
          cause: err,
        }),
      ),
    );
    server.listen({ host: addr.host, port: addr.port }, () => resolve());
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : addr.port;
  return {
    address: { ...addr, port },
    server,
    get handshaking() {
      return pending.size;
    },
    close: () => {
      // net.Server's callback waits for every connection: accepted ones are the caller's to close,
      // handshaking ones are ours.
      server.close();
      for (const raw of pending.values()) raw.destroy();
      pending.clear();
      return Promise.resolve();
    },
  };
}
