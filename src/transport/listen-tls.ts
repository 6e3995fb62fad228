import type { Duplex } from 'node:stream';
import { createServer, type Server, type TLSSocket, type TlsOptions } from 'node:tls';
import { QmpConnectionError, QmpUsageError } from '../errors/index.js';
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

/** A listening TLS endpoint. */
export interface QmpTlsListener {
  readonly address: QmpAddress;
  readonly server: Server;
  close(): Promise<void>;
}

/**
 * Listens for TLS over TCP. With `requestCert: true` (and `rejectUnauthorized`, the default when
 * certificates are requested) only clients with a certificate signed by `ca` get through, and the
 * certificate's CN is passed on so per-client policies can use it.
 */
export async function listenTls(
  address: string | QmpAddress,
  tls: QmpTlsServerOptions,
  onConnection: (stream: Duplex, peer: QmpTlsPeer) => void,
): Promise<QmpTlsListener> {
  const addr = typeof address === 'string' ? parseAddress(address) : address;
  if (addr.kind !== 'tcp') throw new QmpUsageError(`TLS listeners need a TCP address, not ${String(address)}`);
  const server = createServer({ ...tls, allowHalfOpen: true }, (sock: TLSSocket) => {
    const cert = sock.getPeerCertificate();
    const cn = cert && typeof cert.subject?.CN === 'string' ? cert.subject.CN : undefined;
    onConnection(sock, { commonName: sock.authorized ? cn : undefined, authorized: sock.authorized });
  });
  server.on('tlsClientError', () => {});
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
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
