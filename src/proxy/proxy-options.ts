// The proxy's public option and notice types, and the one-line text of a notice.
import type { QmpClientOptions } from '../client/index.js';
import type { QmpAddress, QmpTlsServerOptions } from '../transport/index.js';
import type { QmpAuditRecord } from './audit-log.js';
import type { QmpProxyPolicy } from './policy.js';

/** One `--listen` endpoint. */
export interface QmpProxyListen {
  /** `unix:PATH`, a path, `tcp:HOST:PORT` or `HOST:PORT` (QEMU's `,server=on,wait=off` accepted). */
  address: string;
  /** TLS for a TCP listener; with `ca` and `requestCert: true` clients need a certificate. */
  tls?: QmpTlsServerOptions;
  /** Connections this listener may hold at once, TLS handshakes included (default `maxClientsPerListener`). */
  maxClients?: number;
}

/**
 * What happened to the proxy's connections, for an operator's log (`qmpkit proxy` prints each on
 * stderr). `client` is the client's label: listener, sequence number and certificate CN.
 */
export type QmpProxyNotice =
  | { kind: 'upstream-connected'; upstream: string; reconnected: boolean }
  | { kind: 'upstream-unreachable'; upstream: string; reason: string }
  | { kind: 'upstream-lost'; upstream: string; reason: string; clients: number; reconnecting: boolean }
  | { kind: 'client-connected'; client: string; profile: string }
  | { kind: 'client-refused'; listener: string; reason: string }
  | { kind: 'client-disconnected'; client: string; reason: string }
  | { kind: 'listener-exposed'; listener: string; reason: string };

/** One line of text for a {@link QmpProxyNotice}. */
export function formatProxyNotice(n: QmpProxyNotice): string {
  switch (n.kind) {
    case 'upstream-connected':
      return `${n.reconnected ? 'reconnected to' : 'connected to'} QEMU at ${n.upstream}`;
    case 'upstream-unreachable':
      return `QEMU is not reachable at ${n.upstream} yet (${n.reason}); retrying`;
    case 'upstream-lost':
      return `lost QEMU at ${n.upstream} (${n.reason}); ${n.clients} client(s) disconnected${n.reconnecting ? '; reconnecting' : ''}`;
    case 'client-connected':
      return `client ${n.client} connected (profile '${n.profile}')`;
    case 'client-refused':
      return `client on ${n.listener} refused: ${n.reason}`;
    case 'client-disconnected':
      return `client ${n.client} disconnected (${n.reason})`;
    case 'listener-exposed':
      return `warning: ${n.listener} ${n.reason}`;
  }
}

/** Options of {@link QmpProxy.start}. */
export interface QmpProxyOptions {
  /** The QEMU monitor to share: any client address. */
  upstream: string | QmpAddress;
  /** Client options for the upstream connection (TLS, timeouts). */
  upstreamOptions?: Omit<QmpClientOptions, 'negotiate'>;
  listen: ReadonlyArray<string | QmpProxyListen>;
  policy?: QmpProxyPolicy;
  /** Audit log: a file path (JSON lines, appended) or a callback. */
  audit?: string | ((record: QmpAuditRecord) => void);
  /** Connections at once over all listeners, TLS handshakes included (default {@link MAX_PROXY_CLIENTS}); more are closed at once. */
  maxClients?: number;
  /** Connections at once on one listener (default: `maxClients`); {@link QmpProxyListen.maxClients} overrides it per listener. */
  maxClientsPerListener?: number;
  /** Of `maxClients`, the connections only full-access listeners may take (default {@link PROXY_RESERVED_FULL_ACCESS_CLIENTS}). */
  reservedFullAccessClients?: number;
  /** TLS listeners: a client that has not finished its handshake in this time is disconnected, in ms (default {@link TLS_HANDSHAKE_TIMEOUT_MS}). */
  handshakeTimeoutMs?: number;
  /** A client without a successful `qmp_capabilities` this long after it was accepted is disconnected, in ms (default {@link PROXY_NEGOTIATION_TIMEOUT_MS}; 0 = never). */
  negotiationTimeoutMs?: number;
  /** A negotiated client that sends no command this long, none in flight, is disconnected, in ms (default {@link PROXY_IDLE_TIMEOUT_MS}: never). */
  idleTimeoutMs?: number;
  /** Audit records keep this many characters of a string argument (default {@link AUDIT_MAX_STRING_CHARS}). */
  auditMaxStringChars?: number;
  /** Audit records keep this many characters of a command's arguments as JSON (default {@link AUDIT_MAX_ARGUMENT_CHARS}). */
  auditMaxArgumentChars?: number;
  /** Commands one client may have in flight (default {@link MAX_PROXY_PENDING_PER_CLIENT}); while that many are unanswered the client is not read. */
  maxPendingPerClient?: number;
  /** Events buffered for a client that does not read before it is disconnected (default {@link MAX_PROXY_CLIENT_EVENT_BUFFER}). */
  maxClientEventBuffer?: number;
  /**
   * When QEMU cannot be reached at start, listen anyway and keep trying (with the reconnect backoff)
   * instead of failing (default false). Clients are refused until QEMU is there.
   */
  waitForUpstream?: boolean;
  /** Reconnect to the upstream when it goes away (default true). */
  reconnect?: boolean;
  /** First and longest reconnect delay, in ms (default {@link PROXY_RECONNECT_MIN_MS} and {@link PROXY_RECONNECT_MAX_MS}). */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Called for each connection change (upstream lost and back, clients coming and going). */
  onNotice?: (notice: QmpProxyNotice) => void;
}
