import type { QapiSchema } from '../schema/index.js';
import type { QmpTlsOptions } from '../transport/connect.js';
import type { ListenerErrorHandler } from './event-hub.js';
import type { QmpReconnectOptions } from './reconnect-policy.js';

/** Options of a session: connecting, negotiating, limits and deadlines. */
export interface QmpSessionOptions {
  /** Deadline for connecting, the greeting and negotiation together, in ms (default `DEFAULT_CONNECT_TIMEOUT_MS`, 10 s). */
  timeoutMs?: number;
  /** Cancels connecting. */
  signal?: AbortSignal;
  /** Send `qmp_capabilities` after the greeting (default true). `false` to negotiate yourself; the greeting is still awaited, so this does not make the client speak to the guest agent. */
  negotiate?: boolean;
  /** Enable `oob` when the server offers it (default true). */
  oob?: boolean;
  /** TLS over TCP; certificates are verified by default. */
  tls?: QmpTlsOptions | true;
  /** Largest message accepted from the server, in bytes (default `MAX_MESSAGE_BYTES`, 10 MiB). */
  maxMessageBytes?: number;
  /** Deepest nesting accepted from the server (default `MAX_DEPTH`, 1024). */
  maxDepth?: number;
  /**
   * Commands accepted and not yet answered (default `MAX_PENDING_COMMANDS`, 65,536); past it
   * `execute` rejects with `QMP_ERR_LIMIT`. A sent command that timed out or was aborted keeps its
   * slot until its late reply comes.
   */
  maxPendingCommands?: number;
  /**
   * In-band commands written while OOB is on before the rest wait client-side (default
   * `MAX_QUEUED_REQUESTS`, 8: QEMU's queue): keeps QEMU reading so `exec-oob` requests get through.
   */
  maxQueuedRequests?: number;
  /** Default per-call deadline for `execute`, in ms (none by default). */
  commandTimeoutMs?: number;
  /**
   * Lets one in-band request at a time go without an `id` (default false: every request carries
   * one). QEMU reads requests a byte per system call, so a client that mostly waits for each reply
   * saves a fifth of a short request's cost. A reply without an id is then that request's; it is
   * safe only when QEMU can read every request the session sends, which holds for requests made by
   * `execute` and `request`, not for a server that could misread one (its id-less parse-error reply
   * would be taken for the id-less request's). The proxy turns it on for its connection to QEMU.
   */
  idlessInBand?: boolean;
  /** How long `close()` waits for the server to close its side before destroying the socket, in ms (default `CLIENT_CLOSE_TIMEOUT_MS`, 1000). */
  closeTimeoutMs?: number;
  /**
   * Receives what an event handler added with `on()` threw, and the event. Default: a process
   * warning with code `QMPKIT_LISTENER_ERROR`. Either way it is also published on the
   * `qmpkit:client:listener-error` diagnostics channel. It never becomes an uncaught exception.
   */
  onListenerError?: ListenerErrorHandler;
  /**
   * Most descriptors one request may carry in `fds` (default `MAX_FDS_PER_REQUEST`, 16: QEMU's socket
   * chardev reads no more with one message); past it `execute` rejects with `QMP_ERR_LIMIT`.
   */
  maxFdsPerRequest?: number;
  /** Label for traces and errors (default: the address). */
  label?: string;
}

/** What a client does on the use of a deprecated or unstable command, member or enum value. */
export type QmpDeprecationMode = 'warn' | 'throw' | 'off';

/** Options of `QmpClient.connect`. */
export interface QmpClientOptions extends QmpSessionOptions {
  /**
   * `'fetch'`: read the live `query-qmp-schema` once after negotiating; `execute` then rejects
   * unknown commands and invalid arguments before sending, and warns once per deprecated or
   * unstable use. `'auto'`: the same checks against the schema bundled for the greeting's version
   * (major.minor; a development build X.Y.50 counts as the next release) without a round trip,
   * fetching when no bundled release matches; `schemaSource` says which. Or pass a schema you
   * already have.
   */
  schema?: 'fetch' | 'auto' | QapiSchema;
  /**
   * On the use of a command, member or enum value that the schema marks `deprecated` or `unstable`:
   * `'warn'` (default) once per finding through `onWarning`, naming the release that first marked
   * it when the schema is a bundled release's; `'throw'` rejects the call with `QMP_ERR_VALIDATION`
   * before sending; `'off'`. Needs a schema.
   */
  deprecationWarnings?: QmpDeprecationMode;
  /** Receives warnings (deprecated or unstable commands or members used); default `process.emitWarning`. */
  onWarning?: (message: string) => void;
  /**
   * Dial again when the connection is lost (`true` for the defaults). Commands written to the lost
   * session fail with `QMP_ERR_DISCONNECTED` ("may or may not have run") and are never replayed;
   * commands issued while reconnecting wait for the new session within their own deadline. Handlers,
   * iterators and waiters stay subscribed. Needs an address, not a `Duplex`; the first connect is not
   * retried. See `onReconnect`.
   */
  reconnect?: QmpReconnectOptions | true;
}

/** Per-call options of `execute`. */
export interface QmpExecuteOptions {
  /** Deadline in ms. On expiry the call rejects with `QMP_ERR_TIMEOUT`; the command may still run in QEMU. */
  timeoutMs?: number;
  /** Aborts the call (`QMP_ERR_ABORTED`). If it was already sent, the command may still run in QEMU. */
  signal?: AbortSignal;
  /**
   * Open file descriptors to pass with this request (`SCM_RIGHTS`), for `getfd`, `add-fd`,
   * `add_client`, ... They travel with this request's bytes and no other's. Needs a unix socket and
   * the native addon (`QMP_ERR_FD_UNAVAILABLE` otherwise, nothing sent). The kernel copies them: the
   * caller still owns its descriptors and closes them when it wants. See `docs/fd-passing.md`.
   */
  fds?: readonly number[];
}

/** Per-call options of the session's requests. */
export interface QmpRequestOptions extends QmpExecuteOptions {
  /** Send `exec-oob` instead of `execute`. */
  oob?: boolean;
  /**
   * Called synchronously when the reply (return or error) is read, before any message the server
   * sent after it reaches an event handler; the promise settles later. A relay uses it to keep the
   * server's order of replies and events.
   */
  onReply?: () => void;
}

/** Options of `QmpClient.addFd`: where the descriptor goes, and the call's deadline. */
export interface QmpAddFdOptions extends Omit<QmpExecuteOptions, 'fds'> {
  /** The fd set to add to (`fdset-id`); QEMU picks a new one when left out. */
  fdset?: number;
  /** Free text QEMU keeps beside the descriptor and shows in `query-fdsets`. */
  opaque?: string;
}

/** What QEMU answers to `add-fd`: the fd set, and the descriptor's number inside QEMU. */
export interface QmpAddedFd {
  'fdset-id': number;
  fd: number;
}

/** Options of `QmpClient.closeFdset`. */
export interface QmpCloseFdsetOptions extends Omit<QmpExecuteOptions, 'fds'> {
  /** Remove only this descriptor (QEMU's number, from `addFd` or `query-fdsets`), not the whole set. */
  fd?: number;
}
