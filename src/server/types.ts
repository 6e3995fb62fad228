import type {
  QmpArgsOf,
  QmpCapability,
  QmpCommandMap,
  QmpEventMap,
  QmpReturnsOf,
  QmpVersionInfo,
  UntypedCommands,
  UntypedEvents,
} from '../protocol/index.js';
import type { QValue, RawJson } from '../wire/index.js';
import type { QmpDispatchStrategy } from './dispatch-strategies.js';
import type { QmpEventThrottleRule } from './qmp-event-throttle.js';

/**
 * What the server needs from a QAPI schema to check arguments like QEMU's generated unmarshallers.
 * `QapiSchema` from `qmpkit/schema` satisfies it; any object with the same two methods will do.
 */
export interface QmpServerSchema {
  /**
   * Checks `args` (a plain object; numbers still wrapped so `1.0` differs from `1`) against the
   * command's argument type. Returns QEMU's exact error text in `desc`, or `undefined` when valid.
   */
  validateArguments(
    command: string,
    args: Readonly<Record<string, unknown>>,
    options: { numberKind: (v: unknown) => QmpNumberKind | undefined },
  ): { desc: string; path?: string; message?: string } | undefined;
  /** The schema's view of a command, or `undefined` when the schema does not know it. */
  command(name: string): { allowOob?: boolean | undefined; allowPreconfig?: boolean | undefined } | undefined;
}

/** How QEMU's parser held a number: what the schema validator needs to tell `1.0` from `1`. */
export interface QmpNumberKind {
  kind: 'int' | 'uint' | 'double';
  value: number | bigint;
}

/** Options of a `QmpServer`. Every limit defaults to QEMU 7.2's value (see `docs/limits.md`). */
export interface QmpServerOptions {
  /** Version in the greeting (and for a `query-version` handler). Default: 7.2.22 with package `""`. */
  version?: QmpVersionInfo;
  /** Capabilities offered in the greeting. Default `["oob"]`, as QEMU offers on every socket monitor. */
  capabilities?: readonly QmpCapability[];
  /**
   * Schema used to check arguments of registered commands it knows (QEMU's exact error texts), and
   * to default `allowOob`/`allowPreconfig`. Commands the schema does not know get their arguments
   * unchecked.
   */
  schema?: QmpServerSchema;
  /** In-band requests queued per session while OOB is on before reading stops (QEMU: 8). */
  maxQueuedRequests?: number;
  /** Interval of the rate-limited events (`RTC_CHANGE`, ...), in ms. QEMU: 1000. */
  eventThrottleMs?: number;
  /**
   * Which events are rate-limited and by which `data` member. Default: QEMU 7.2's table
   * ({@link QEMU_7_2_EVENT_THROTTLE}). Give `{}` to turn rate limiting off.
   */
  throttledEvents?: Readonly<Record<string, QmpEventThrottleRule>>;
  /**
   * Output bytes buffered for one client that does not read; past this the client is disconnected.
   * QEMU buffers without limit; qmpkit does not. Default 16 MiB.
   */
  maxOutputBytes?: number;
  /**
   * Keep file descriptors that clients on unix sockets send with SCM_RIGHTS, for handlers to take with
   * {@link QmpCommandContext.takeFd} (QEMU's `getfd`, `add-fd`). Needs the native addon; without it,
   * or with `false`, the socket is read by Node and the kernel closes any descriptor sent. Default true.
   */
  receiveFds?: boolean;
  /**
   * Descriptors held for one client and not yet taken by a command; past this the client is
   * disconnected. Default 256 (`MAX_RECEIVED_FDS`).
   */
  maxReceivedFds?: number;
  /** QEMU's lexer limit on the total token bytes of one request (64 MiB). */
  maxTokenBytes?: number;
  /** QEMU's lexer limit on the token count of one request (2 Mi). */
  maxTokens?: number;
  /** QEMU's limit on `{`/`[` nesting in one request (1024). */
  maxDepth?: number;
  /**
   * How in-band requests are scheduled. Default {@link qemuDispatch}: QEMU's single dispatcher, one
   * in-band command at a time across every session of this server, taken round-robin.
   * {@link pipelinedDispatch} runs each session on its own, up to `depth` commands in flight, replies
   * in order (what a proxy in front of QEMU uses).
   */
  dispatch?: QmpDispatchStrategy;
  /** Clients kept waiting (connected, ungreeted) on one monitor while another is served; more are disconnected. */
  maxWaitingClients?: number;
  /** How long `close()` lets a client take its pending output before the connection is destroyed, in ms. */
  closeFlushTimeoutMs?: number;
  /** Wall clock for event timestamps, in microseconds since the epoch (tests pass a fake one). */
  clock?: () => number;
}

/** Options of one served connection or of one monitor (a listening address). */
export interface QmpServeOptions {
  /** QEMU's `pretty=on`: multi-line, 4-space indented output. */
  pretty?: boolean;
  /** A name for traces and errors (default: the address, or `session-N`). */
  label?: string;
  /** Capabilities offered to this connection/monitor instead of the server's. */
  capabilities?: readonly QmpCapability[];
}

/** Per-command options given to `QmpServer.register`. */
export interface QmpRegisterOptions {
  /** The command may be sent with `exec-oob` (schema `allow-oob`). Default: the schema's, else false. */
  allowOob?: boolean;
  /** The command may run in preconfig state (schema `allow-preconfig`). Default: the schema's, else false. */
  allowPreconfig?: boolean;
  /** Check arguments against the server's schema (default true; no effect without a schema). */
  validate?: boolean;
}

/**
 * One client connection as server code sees it: returned by `QmpServer.serve`, by a monitor
 * ({@link QmpMonitor.session}) and given to handlers as `ctx.session`. It is also the identity of
 * the connection: use it as a map key to keep per-client state.
 */
export interface QmpServerSession {
  /** Name used in traces (the address with a sequence number, or `session-N`). */
  readonly label: string;
  /** Capabilities offered in this session's greeting. */
  readonly offeredCapabilities: readonly QmpCapability[];
  /** `pretty=on` output. */
  readonly pretty: boolean;
  /** True once `qmp_capabilities` succeeded: commands are available and events are delivered. */
  readonly negotiated: boolean;
  /** True when the client enabled `oob` in `qmp_capabilities`. */
  readonly oobEnabled: boolean;
  /** True once the connection is closed (or closing). */
  readonly closed: boolean;
  /** Aborted when the session closes. */
  readonly signal: AbortSignal;
  /** Resolves when the connection has closed. */
  whenClosed(): Promise<void>;
  /**
   * Ends the connection: output already written is flushed, then the stream is closed (destroyed
   * after `timeoutMs`, default the server's `closeFlushTimeoutMs`, if the peer does not take it).
   * Queued requests are dropped, as QEMU does when a client leaves.
   */
  close(timeoutMs?: number): Promise<void>;
  /**
   * Writes one message to this client only, in QEMU's format (a {@link RawJson} is copied
   * verbatim); `onFlushed` runs once the transport took it, or at once when the client is gone.
   * For relays that route their own messages (a proxy's events); replies and broadcast events are
   * written by the server.
   */
  writeMessage(message: unknown, onFlushed?: () => void): void;
  /** `close` fires once, with the reason (an error, or `undefined` for an orderly end). */
  on(event: 'close', listener: (reason: Error | undefined) => void): this;
  once(event: 'close', listener: (reason: Error | undefined) => void): this;
  off(event: 'close', listener: (reason: Error | undefined) => void): this;
}

/** The part of the server a handler sees (a `QmpServer` is one). */
export interface QmpServerHandle<E extends QmpEventMap<E> = UntypedEvents> {
  /** Sends an event to every negotiated client, as `QmpServer.emit` does. */
  emit<K extends keyof E & string>(event: K, ...data: QmpEmitParams<E[K]>): void;
  /** Closes the server: listeners, monitors and sessions. */
  close(): Promise<void>;
}

/** What a handler gets besides its arguments. */
export interface QmpCommandContext<
  _C extends QmpCommandMap<_C> = UntypedCommands,
  E extends QmpEventMap<E> = UntypedEvents,
> {
  /** The connection the request came from. */
  readonly session: QmpServerSession;
  /** The server as a handler needs it: to `emit` events, or to `close` it (after `quit`'s reply). */
  readonly server: QmpServerHandle<E>;
  /** The command name as sent. */
  readonly command: string;
  /** The request's `id` as QEMU parsed it (`undefined` when absent); echoed in the reply. */
  readonly id: QValue | undefined;
  /** True when the request came as `exec-oob`. */
  readonly oob: boolean;
  /**
   * The arguments as QEMU's parser made them: members in the order sent, numbers that remember
   * whether they were written as integers or doubles. For pass-through handlers (the proxy).
   */
  readonly arguments: ReadonlyMap<string, QValue>;
  /** Aborted when the client disconnects: the reply would be discarded, so long work may stop. */
  readonly signal: AbortSignal;
  /**
   * Takes a file descriptor the client passed with SCM_RIGHTS, as QEMU's `getfd` and `add-fd` do: the
   * first of the set that came last (with this request or before it; the rest of the set is closed),
   * or `undefined` when none is held (QEMU: "No file descriptor supplied via SCM_RIGHTS"). The handler
   * owns it and must close it. See {@link QmpServerOptions.receiveFds}.
   */
  takeFd(): number | undefined;
  /**
   * Runs `fn` once this command's reply has been handed to the transport (or could not be, because
   * the client left). Use it for `quit`: close the server after the reply.
   */
  afterReply(fn: () => void): void;
  /**
   * Runs `fn` as soon as this command's reply is queued on the connection, before anything written
   * after it (or at once when the client left). For relays that must keep their own messages in
   * order with the reply.
   */
  onReplyWritten(fn: () => void): void;
}

/** The arguments a handler receives: always an object (`{}` when the request had none). */
export type QmpHandlerArgs<A> = [A] extends [undefined] ? Record<string, never> : Exclude<A, undefined>;

/**
 * What a handler may return: the command's return type (`undefined`/nothing becomes `{}` as in
 * QEMU), or a {@link RawJson} copied to the wire verbatim.
 */
export type QmpHandlerReturn<R> =
  // biome-ignore lint/suspicious/noConfusingVoidType: a handler of a command without a result may return nothing at all.
  ([R] extends [undefined] ? undefined | void : Record<string, never> extends R ? R | undefined | void : R) | RawJson;

/**
 * A command handler. Throw `QmpCommandError(class, desc)` for a QMP error; any other thrown `Error`
 * becomes a `GenericError` with the error's message as `desc`.
 */
export type QmpCommandHandler<
  A,
  R,
  C extends QmpCommandMap<C> = UntypedCommands,
  E extends QmpEventMap<E> = UntypedEvents,
> = (args: QmpHandlerArgs<A>, ctx: QmpCommandContext<C, E>) => QmpHandlerReturn<R> | Promise<QmpHandlerReturn<R>>;

/** Handler for commands that are not registered (e.g. a proxy forwarding everything). */
export type QmpFallbackHandler<
  C extends QmpCommandMap<C> = UntypedCommands,
  E extends QmpEventMap<E> = UntypedEvents,
> = (command: string, args: Record<string, unknown>, ctx: QmpCommandContext<C, E>) => unknown;

/** The handler type of command `K` of map `C`. */
export type QmpHandlerOf<C extends QmpCommandMap<C>, E extends QmpEventMap<E>, K extends keyof C> = QmpCommandHandler<
  QmpArgsOf<C[K]>,
  QmpReturnsOf<C[K]>,
  C,
  E
>;

/** The rest parameters of `emit` for an event whose data type is `D`. */
export type QmpEmitParams<D> = [D] extends [undefined]
  ? [data?: undefined]
  : undefined extends D
    ? [data?: D]
    : [data: D];
