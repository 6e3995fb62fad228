import type { Duplex } from 'node:stream';
import { QmpStateError, QmpUsageError } from '../errors/index.js';
import {
  CLOSE_FLUSH_TIMEOUT_MS,
  EVENT_THROTTLE_MS,
  MAX_DEPTH,
  MAX_OUTPUT_BYTES,
  MAX_QUEUED_REQUESTS,
  MAX_RECEIVED_FDS,
  MAX_TOKEN_BYTES,
  MAX_TOKENS,
  MAX_WAITING_CLIENTS,
} from '../limits.js';
import type {
  QmpCapability,
  QmpCommandMap,
  QmpEventMap,
  QmpVersionInfo,
  UntypedCommands,
  UntypedEvents,
} from '../protocol/index.js';
import type { QmpAddress } from '../transport/index.js';
import { QmpCommandTable, type QmpEntryHandler } from './command-table.js';
import { type QmpScheduler, qemuDispatch } from './dispatch-strategies.js';
import { QmpDispatcher } from './dispatcher.js';
import { QEMU_7_2_EVENT_THROTTLE, QmpEventThrottle } from './qmp-event-throttle.js';
import { QmpMonitor, type QmpMonitorHost } from './qmp-monitor.js';
import { QmpServerSessionImpl, type QmpSessionHost } from './session.js';
import type {
  QmpEmitParams,
  QmpFallbackHandler,
  QmpHandlerOf,
  QmpRegisterOptions,
  QmpServeOptions,
  QmpServerOptions,
  QmpServerSession,
} from './types.js';

/** The default greeting version: QEMU 7.2.22, upstream build (empty package). */
const DEFAULT_VERSION: QmpVersionInfo = { qemu: { major: 7, minor: 2, micro: 22 }, package: '' };

/**
 * A QMP server that behaves like QEMU 7.2's monitor on the wire: greeting, capabilities
 * negotiation, QEMU's JSON dialect and its exact errors, request queue and OOB, events with QEMU's
 * timestamps and rate limits, byte-identical output.
 *
 * Register handlers with {@link register}; serve any `Duplex` with {@link serve}, or listen on
 * QEMU-style addresses with {@link listen} (one client per address at a time, like a QEMU monitor).
 *
 * @typeParam C - command map (e.g. the generated `Commands` of `qmpkit/qapi/7.2`) that types handlers.
 * @typeParam E - event map that types {@link emit}.
 */
export class QmpServer<C extends QmpCommandMap<C> = UntypedCommands, E extends QmpEventMap<E> = UntypedEvents> {
  /** Version announced in the greeting. */
  readonly version: QmpVersionInfo;
  /** Capabilities offered by default. */
  readonly capabilities: readonly QmpCapability[];
  /**
   * QEMU's preconfig phase (`--preconfig` before `x-exit-preconfig`): while true, commands not
   * registered with `allowPreconfig` are refused with QEMU's error.
   */
  preconfig = false;

  readonly #table: QmpCommandTable;
  /** Open sessions in the order they started: events go out in this order. */
  readonly #sessions: QmpServerSessionImpl[] = [];
  readonly #monitors: QmpMonitor[] = [];
  readonly #throttle: QmpEventThrottle;
  readonly #clock: () => number;
  readonly #scheduler: QmpScheduler<QmpServerSessionImpl>;
  readonly #sessionHost: QmpSessionHost;
  readonly #monitorHost: QmpMonitorHost;
  readonly #closeFlushTimeoutMs: number;
  #sessionCount = 0;
  #closing: Promise<void> | undefined;

  constructor(options: QmpServerOptions = {}) {
    const v = options.version ?? DEFAULT_VERSION;
    // Insertion order matters for QEMU's output order (`micro` and `minor` share a hash bucket).
    this.version = { qemu: { major: v.qemu.major, minor: v.qemu.minor, micro: v.qemu.micro }, package: v.package };
    this.capabilities = Object.freeze([...(options.capabilities ?? ['oob'])]);
    this.#table = new QmpCommandTable(options.schema);
    const dispatcher = new QmpDispatcher(this, this.#table, options.schema);
    const strategy = options.dispatch ?? qemuDispatch();
    this.#scheduler = strategy.createScheduler(dispatcher);
    this.#clock = options.clock ?? (() => Math.floor((performance.timeOrigin + performance.now()) * 1000));
    this.#closeFlushTimeoutMs = options.closeFlushTimeoutMs ?? CLOSE_FLUSH_TIMEOUT_MS;
    this.#throttle = new QmpEventThrottle(
      options.throttledEvents ?? QEMU_7_2_EVENT_THROTTLE,
      options.eventThrottleMs ?? EVENT_THROTTLE_MS,
      (message) => this.#broadcast(message),
    );
    const parserOptions = {
      maxTokenBytes: options.maxTokenBytes ?? MAX_TOKEN_BYTES,
      maxTokens: options.maxTokens ?? MAX_TOKENS,
      maxDepth: options.maxDepth ?? MAX_DEPTH,
    };
    const maxQueuedRequests = options.maxQueuedRequests ?? MAX_QUEUED_REQUESTS;
    if (!Number.isInteger(maxQueuedRequests) || maxQueuedRequests < 1) {
      throw new QmpUsageError(`maxQueuedRequests must be a positive integer, got ${String(maxQueuedRequests)}`);
    }
    const maxOutputBytes = options.maxOutputBytes ?? MAX_OUTPUT_BYTES;
    const maxReceivedFds = options.maxReceivedFds ?? MAX_RECEIVED_FDS;
    if (!Number.isInteger(maxReceivedFds) || maxReceivedFds < 0) {
      throw new QmpUsageError(`maxReceivedFds must be a non-negative integer, got ${String(maxReceivedFds)}`);
    }
    this.#sessionHost = {
      maxQueuedRequests,
      readRules: strategy.readRules,
      maxOutputBytes,
      closeFlushTimeoutMs: this.#closeFlushTimeoutMs,
      receiveFds: options.receiveFds ?? true,
      maxReceivedFds,
      parserOptions,
      greeting: (session) => ({
        QMP: { version: this.#versionValue(), capabilities: [...session.offeredCapabilities] },
      }),
      wake: (session) => this.#scheduler.wake(session),
      runOob: (session, value) => dispatcher.runOob(session, value),
      closed: (session) => this.#sessionClosed(session),
    };
    this.#monitorHost = {
      maxWaitingClients: options.maxWaitingClients ?? MAX_WAITING_CLIENTS,
      startSession: (stream, monitor) =>
        this.#startSession(stream, {
          label: `${monitor.label}#${this.#sessionCount + 1}`,
          pretty: monitor.pretty,
          capabilities: monitor.capabilities ?? this.capabilities,
        }),
      monitorClosed: (monitor) => {
        const i = this.#monitors.indexOf(monitor);
        if (i !== -1) this.#monitors.splice(i, 1);
      },
    };
  }

  // ---- commands -------------------------------------------------------------------------------

  /**
   * Registers (or replaces) the handler of command `name`. Arguments are checked against the
   * server's schema first when it knows the command; handlers get plain objects with numbers as
   * `number` (or `bigint` beyond 2^53). `qmp_capabilities` is built in and cannot be registered.
   */
  register<K extends keyof C & string>(
    name: K,
    handler: QmpHandlerOf<C, E, K>,
    options: QmpRegisterOptions = {},
  ): this {
    this.#table.register(name, handler as unknown as QmpEntryHandler, options);
    return this;
  }

  /** Removes a command; returns whether it was registered. */
  unregister(name: string): boolean {
    return this.#table.unregister(name);
  }

  /** True when `name` has a handler (`qmp_capabilities` always). */
  hasCommand(name: string): boolean {
    return this.#table.has(name);
  }

  /** Names of the registered commands, `qmp_capabilities` first, then in registration order. */
  commandNames(): string[] {
    return this.#table.names();
  }

  /**
   * Sets the handler of every command that is not registered (a proxy forwarding to a real QEMU, a
   * server that looks commands up itself), or removes it with `undefined`. It gets the command name
   * first; its arguments are not schema-checked. Until negotiation it is not consulted, like any
   * command. `allowOob`/`allowPreconfig` apply to every command it serves.
   */
  setFallback(
    handler: QmpFallbackHandler<C, E> | undefined,
    options: { allowOob?: boolean; allowPreconfig?: boolean } = {},
  ): this {
    this.#table.setFallback(handler as Parameters<QmpCommandTable['setFallback']>[0], options);
    return this;
  }

  // ---- events ---------------------------------------------------------------------------------

  /**
   * Emits event `event` to every negotiated session of every monitor, timestamped now. Events in the
   * throttle table (QEMU 7.2's by default) are rate-limited like QEMU: the first of a key at once,
   * then at most one per interval, the latest winning. Emitting from inside a handler writes the
   * event before that command's reply. Do not mutate `data` afterwards: a throttled event is sent
   * later.
   */
  emit<K extends keyof E & string>(event: K, ...data: QmpEmitParams<E[K]>): void {
    if (this.#closing !== undefined) return;
    const us = Math.trunc(this.#clock());
    const seconds = Math.floor(us / 1_000_000);
    // QEMU inserts `event`, `timestamp`, then `data`; its writer prints timestamp, event, data.
    const message: Record<string, unknown> = {
      event,
      timestamp: { seconds, microseconds: us - seconds * 1_000_000 },
    };
    const d = data[0];
    if (d !== undefined) message['data'] = d;
    this.#throttle.offer(event, d, message);
  }

  #broadcast(message: unknown): void {
    for (const s of [...this.#sessions]) if (s.negotiated && !s.closed) s.writeMessage(message);
  }

  // ---- connections ----------------------------------------------------------------------------

  /**
   * Serves one connection over `stream` (a socket, an in-memory duplex, ...). The greeting is
   * written at once. For sockets, create them with `allowHalfOpen: true` so replies to requests sent
   * before the client's EOF can still be written, as QEMU does.
   */
  serve(stream: Duplex, options: QmpServeOptions = {}): QmpServerSession {
    this.#assertOpen();
    return this.#startSession(stream, {
      label: options.label ?? `session-${this.#sessionCount + 1}`,
      pretty: options.pretty ?? false,
      capabilities: options.capabilities ?? this.capabilities,
    });
  }

  /**
   * Listens on a QEMU-style address (`unix:PATH,server=on,wait=off`, `tcp:HOST:PORT,server=on,wait=off`,
   * `...,server,nowait`, `fd:N`, `stdio`) as one monitor: one client at a time, the others wait.
   * Call it several times for several monitors. Unix sockets are created 0600; TCP binds exactly
   * the host given (`localhost` is the safe default: QMP has no authentication).
   */
  async listen(address: string | QmpAddress, options: QmpServeOptions = {}): Promise<QmpMonitor> {
    this.#assertOpen();
    const monitor = await QmpMonitor.open(this.#monitorHost, address, {
      pretty: options.pretty ?? false,
      label: options.label,
      capabilities: options.capabilities,
    });
    if (this.#closing !== undefined) {
      await monitor.close();
      this.#assertOpen();
    }
    this.#monitors.push(monitor);
    return monitor;
  }

  /** The listening monitors. */
  get monitors(): readonly QmpMonitor[] {
    return [...this.#monitors];
  }

  /** Every open session (monitor clients and {@link serve}d streams). */
  get sessions(): readonly QmpServerSession[] {
    return this.#sessions.filter((s) => !s.closed).map((s) => s.handle);
  }

  /** Stops listening, ends every session (flushing output), drops throttled events. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#throttle.close();
      await Promise.all([
        ...this.#monitors.map((m) => m.close()),
        ...this.#sessions.map((s) => s.close(this.#closeFlushTimeoutMs)),
      ]);
    })();
    return this.#closing;
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) throw new QmpStateError('QMP_ERR_CLOSED', 'The QMP server is closed', 'closed');
  }

  #versionValue(): unknown {
    const v = this.version;
    return { qemu: { major: v.qemu.major, minor: v.qemu.minor, micro: v.qemu.micro }, package: v.package };
  }

  #startSession(
    stream: Duplex,
    options: { label: string; pretty: boolean; capabilities: readonly QmpCapability[] },
  ): QmpServerSession {
    this.#sessionCount++;
    const session = new QmpServerSessionImpl(stream, this.#sessionHost, options);
    if (!session.closed) {
      this.#sessions.push(session);
      this.#scheduler.add(session);
    }
    return session.handle;
  }

  #sessionClosed(session: QmpServerSessionImpl): void {
    const i = this.#sessions.indexOf(session);
    if (i !== -1) this.#sessions.splice(i, 1);
    this.#scheduler.remove(session);
  }
}
