// limits.ts: every limit in qmpkit as a named constant. Each has an option (unit in its name), a row
// in docs/limits.md and tests at the limit and one past it. Imports nothing.

const MiB = 1024 * 1024;

/** Largest message the client accepts from a server, in bytes (option `maxMessageBytes`). Like libvirt and qemu.qmp. */
export const MAX_MESSAGE_BYTES = 10 * MiB;

/** Deepest nesting of `{`/`[` accepted in one message (option `maxDepth`). QEMU accepts 1024 and rejects 1025. */
export const MAX_DEPTH = 1024;

/**
 * QEMU's lexer limit on the bytes of all tokens of one message (server option `maxTokenBytes`). The
 * client refuses a request that would reach it (QEMU would cut the request and read the rest as new input).
 */
export const MAX_TOKEN_BYTES = 64 * MiB;

/** QEMU's lexer limit on the number of tokens in one message (server option `maxTokens`); the client refuses a request past it. */
export const MAX_TOKENS = 2 * MiB;

/** QEMU's in-band request queue length when OOB is enabled (`QMP_REQ_QUEUE_LEN_MAX`; server option `maxQueuedRequests`). */
export const MAX_QUEUED_REQUESTS = 8;

/**
 * Commands one client may have in flight at once (option `maxPendingCommands`). A sent command that
 * timed out or was aborted keeps its slot until its late reply comes.
 */
export const MAX_PENDING_COMMANDS = 65_536;

/** Events buffered by one `events()` iterator before it drops the oldest (option `maxQueuedEvents`). */
export const MAX_QUEUED_EVENTS = 1_024;

/**
 * Output bytes a server queues for a client that does not read; one more and it disconnects the
 * client (option `maxOutputBytes`). QEMU buffers without bound. 16 MiB holds more than the largest
 * message libvirt, qemu.qmp and qmpkit's client accept (10 MiB).
 */
export const MAX_OUTPUT_BYTES = 16 * MiB;

/** Clients kept waiting on one server monitor while another is served (server option `maxWaitingClients`). QEMU's backlog holds 2. */
export const MAX_WAITING_CLIENTS = 16;

/** How long a closing server lets a client take its pending output before destroying the connection, in ms (option `closeFlushTimeoutMs`). */
export const CLOSE_FLUSH_TIMEOUT_MS = 1_000;

/** How long the client's `close()` waits for the peer to close its side before destroying the socket, in ms (option `closeTimeoutMs`). */
export const CLIENT_CLOSE_TIMEOUT_MS = 1_000;

/** Default deadline for connect + greeting + negotiation, in ms (option `timeoutMs` of `connect`). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** Connections an accept-mode listener keeps waiting for the next `accept()`; past it they are closed at once (option `maxQueuedConnections`). */
export const MAX_QUEUED_CONNECTIONS = 4;

/** A reconnecting client's wait before its first attempt after a lost connection, in ms (option `reconnect.initialDelayMs`). */
export const RECONNECT_INITIAL_DELAY_MS = 100;

/** The longest wait between two reconnect attempts, in ms (option `reconnect.maxDelayMs`). */
export const RECONNECT_MAX_DELAY_MS = 5_000;

/** How much the wait grows after each failed reconnect attempt (option `reconnect.factor`). */
export const RECONNECT_FACTOR = 2;

/** QEMU's event throttle interval for rate-limited events, in ms (server option `eventThrottleMs`). */
export const EVENT_THROTTLE_MS = 1_000;

/** Number of buckets in QEMU's QDict hash table: it decides the member order QEMU prints. */
export const QDICT_BUCKETS = 512;

/** Downstream clients a proxy serves at once (option `maxClients`). */
export const MAX_PROXY_CLIENTS = 64;

/** Commands one proxy client may have in flight; past it the client is not read (option `maxPendingPerClient`). */
export const MAX_PROXY_PENDING_PER_CLIENT = 1_024;

/** Events buffered for one proxy client that does not read (option `maxClientEventBuffer`). */
export const MAX_PROXY_CLIENT_EVENT_BUFFER = 4_096;

/** Of `maxClients`, the connections only listeners with full access may take, so read-only clients cannot lock the owner out (option `reservedFullAccessClients`). */
export const PROXY_RESERVED_FULL_ACCESS_CLIENTS = 4;

/** How long a TLS client may take to finish its handshake before it is disconnected, in ms (option `handshakeTimeoutMs`). */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/** How long a proxy client may take from accept to a successful `qmp_capabilities`, in ms (option `negotiationTimeoutMs`). */
export const PROXY_NEGOTIATION_TIMEOUT_MS = 10_000;

/** How long a negotiated proxy client may send no command before it is disconnected, in ms; 0 = never (option `idleTimeoutMs`). */
export const PROXY_IDLE_TIMEOUT_MS = 0;

/** The proxy's deadline for connecting and negotiating with QEMU, in ms (option `upstreamOptions.timeoutMs`). */
export const PROXY_UPSTREAM_TIMEOUT_MS = 10_000;

/** First delay before the proxy reconnects to a lost QEMU, in ms; doubled on each failure (option `reconnectMinMs`). */
export const PROXY_RECONNECT_MIN_MS = 100;

/** Longest delay between the proxy's reconnect attempts, in ms (option `reconnectMaxMs`). */
export const PROXY_RECONNECT_MAX_MS = 5_000;

/** Characters of one string argument kept in an audit record; longer strings are cut and their length noted (option `auditMaxStringChars`). */
export const AUDIT_MAX_STRING_CHARS = 256;

/** Characters of one audit record's `arguments` (as JSON); past it the rest is left out and counted (option `auditMaxArgumentChars`). */
export const AUDIT_MAX_ARGUMENT_CHARS = 4_096;

/** Lines of QEMU's stderr kept by the launcher for error reports (option `stderrTailLines`). */
export const LAUNCH_STDERR_TAIL_LINES = 40;

/** Default wait for QEMU to create its monitor and greet, in ms (launcher option `startTimeoutMs`). */
export const LAUNCH_START_TIMEOUT_MS = 30_000;

/** Default wait after `quit` and again after SIGTERM before escalating, in ms (launcher option `shutdownTimeoutMs`). */
export const LAUNCH_SHUTDOWN_TIMEOUT_MS = 5_000;

/**
 * Largest recorded session `readRecording` and `qmpkit replay` read, in bytes (option
 * `maxRecordingBytes`): a recording is held in memory whole while it is served.
 */
export const MAX_RECORDING_BYTES = 64 * MiB;

/** Entries kept in qmp-shell's history file: QEMU's qmp-shell calls `readline.set_history_length(1024)`. */
export const SHELL_HISTORY_SIZE = 1024;

/** Guest agent calls a `QgaClient` holds while one is in flight (option `maxQueuedCommands`); one more is refused with `QMP_ERR_LIMIT`. */
export const MAX_QGA_QUEUED_COMMANDS = 1_024;

/** How often `QgaClient.exec` asks `guest-exec-status` whether the process has exited, in ms (option `pollIntervalMs`). */
export const QGA_POLL_INTERVAL_MS = 100;
/**
 * Descriptors one request may carry (option `maxFdsPerRequest`). QEMU's socket chardev reads at most
 * 16 with one message (`TCP_MAX_FDS`) and the kernel closes any beyond the receiver's room.
 */
export const MAX_FDS_PER_REQUEST = 16;

/**
 * Descriptors a server holds for one client, received with SCM_RIGHTS and not yet taken by a command
 * (server option `maxReceivedFds`); past it the client is disconnected. QEMU keeps only the set that
 * came last; qmpkit may hold sets not yet read by its parser. One message carries at most 253.
 */
export const MAX_RECEIVED_FDS = 256;
