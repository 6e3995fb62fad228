import type { Duplex } from 'node:stream';
import { QmpCommandError, QmpStateError, QmpUsageError } from '../errors/index.js';
import {
  CLOSE_FLUSH_TIMEOUT_MS,
  EVENT_THROTTLE_MS,
  MAX_NESTING_DEPTH,
  MAX_OUTPUT_BYTES,
  MAX_QUEUED_REQUESTS,
  MAX_TOKEN_BYTES,
  MAX_TOKEN_COUNT,
  MAX_WAITING_CLIENTS,
} from '../limits.js';
import {
  QEMU_PROTOCOL_ERRORS,
  type QmpCapability,
  type QmpCommandMap,
  type QmpEventMap,
  type QmpVersionInfo,
  type UntypedCommands,
  type UntypedEvents,
} from '../protocol/index.js';
import { traceAnomaly } from '../trace/index.js';
import type { QmpAddress } from '../transport/index.js';
import type { QValue } from '../wire/index.js';
import { checkRequest } from './check-request.js';
import { QEMU_7_2_EVENT_THROTTLE, QmpEventThrottle } from './qmp-event-throttle.js';
import { QmpMonitor, type QmpMonitorHost } from './qmp-monitor.js';
import type {
  QmpCommandContext,
  QmpEmitParams,
  QmpFallbackHandler,
  QmpHandlerOf,
  QmpRegisterOptions,
  QmpServeOptions,
  QmpServerOptions,
  QmpServerSchema,
} from './qmp-server-options.js';
import { type QmpQueuedInput, QmpServerSession, type QmpSessionHost } from './qmp-server-session.js';
import { numberKind, toHandlerValue, toSchemaValue } from './to-handler-value.js';

/** The default greeting version: QEMU 7.2.22, upstream build (empty package). */
const DEFAULT_VERSION: QmpVersionInfo = { qemu: { major: 7, minor: 2, micro: 22 }, package: '' };

// QEMU's preconfig refusal (qmp_command_available in qapi/qmp-dispatch.c).
const preconfigRefused = (name: string): string =>
  `The command '${name}' is permitted only after machine initialization has completed`;

// `qmp_capabilities {enable?: [QMPCapability]}`: the only capability enum value QEMU knows.
const KNOWN_CAPABILITIES: readonly string[] = ['oob'];

type AnyHandler = (args: never, ctx: never) => unknown;

interface CommandEntry {
  readonly handler: (args: unknown, ctx: QmpCommandContext<never, never>) => unknown;
  readonly allowOob: boolean;
  readonly allowPreconfig: boolean;
  readonly validate: boolean;
  readonly fallback: boolean;
}

// The table entry of the built-in qmp_capabilities (schema: allow-preconfig, no allow-oob).
const BUILTIN_CAPABILITIES: CommandEntry = {
  handler: () => undefined,
  allowOob: false,
  allowPreconfig: true,
  validate: false,
  fallback: false,
};

interface Outcome {
  readonly reply: Record<string, unknown>;
  readonly after: readonly (() => void)[];
  /** Run right after the reply is queued on the connection (onReplyWritten). */
  readonly written?: readonly (() => void)[];
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    (typeof v === 'object' || typeof v === 'function') &&
    v !== null &&
    typeof (v as { then?: unknown }).then === 'function'
  );
}

function errorReply(errorClass: string, desc: string, id: QValue | undefined): Record<string, unknown> {
  // QEMU inserts `error`, then `id`; its writer prints `id` first (hash order).
  const reply: Record<string, unknown> = { error: { class: errorClass, desc } };
  if (id !== undefined) reply['id'] = id;
  return reply;
}

function returnReply(value: unknown, id: QValue | undefined): Record<string, unknown> {
  const reply: Record<string, unknown> = { return: value === undefined ? {} : value };
  if (id !== undefined) reply['id'] = id;
  return reply;
}

/** Turns anything a handler threw into QEMU's `{class, desc}`. */
function describeThrown(err: unknown): { errorClass: string; desc: string } {
  if (err instanceof QmpCommandError) return { errorClass: err.errorClass, desc: err.desc };
  if (err instanceof Error) return { errorClass: 'GenericError', desc: err.message };
  return { errorClass: 'GenericError', desc: String(err) };
}

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

  readonly #schema: QmpServerSchema | undefined;
  readonly #commands = new Map<string, CommandEntry>();
  #fallback: CommandEntry | undefined;
  readonly #order: QmpServerSession[] = [];
  readonly #monitors: QmpMonitor[] = [];
  readonly #throttle: QmpEventThrottle;
  readonly #clock: () => number;
  readonly #serial: boolean;
  readonly #sessionHost: QmpSessionHost;
  readonly #monitorHost: QmpMonitorHost;
  readonly #closeFlushTimeoutMs: number;
  #dispatching = false;
  #dispatchScheduled = false;
  readonly #busySessions = new Set<QmpServerSession>();
  /** Pipelined sessions: the delivery of the last reply started, which the next one waits for. */
  readonly #replyTail = new WeakMap<QmpServerSession, Promise<void>>();
  #sessionCount = 0;
  #closing: Promise<void> | undefined;

  constructor(options: QmpServerOptions = {}) {
    const v = options.version ?? DEFAULT_VERSION;
    // Insertion order matters for QEMU's output order (`micro` and `minor` share a hash bucket).
    this.version = { qemu: { major: v.qemu.major, minor: v.qemu.minor, micro: v.qemu.micro }, package: v.package };
    this.capabilities = Object.freeze([...(options.capabilities ?? ['oob'])]);
    this.#schema = options.schema;
    this.#serial = options.serialDispatch ?? true;
    this.#clock = options.clock ?? (() => Math.floor((performance.timeOrigin + performance.now()) * 1000));
    this.#closeFlushTimeoutMs = options.closeFlushTimeoutMs ?? CLOSE_FLUSH_TIMEOUT_MS;
    this.#throttle = new QmpEventThrottle(
      options.throttledEvents ?? QEMU_7_2_EVENT_THROTTLE,
      options.eventThrottleMs ?? EVENT_THROTTLE_MS,
      (message) => this.#broadcast(message),
    );
    const parserOptions = {
      maxTokenBytes: options.maxTokenBytes ?? MAX_TOKEN_BYTES,
      maxTokens: options.maxTokens ?? MAX_TOKEN_COUNT,
      maxDepth: options.maxDepth ?? MAX_NESTING_DEPTH,
    };
    const maxQueuedRequests = options.maxQueuedRequests ?? MAX_QUEUED_REQUESTS;
    if (!Number.isInteger(maxQueuedRequests) || maxQueuedRequests < 1) {
      throw new QmpUsageError(`maxQueuedRequests must be a positive integer, got ${String(maxQueuedRequests)}`);
    }
    const maxOutputBytes = options.maxOutputBytes ?? MAX_OUTPUT_BYTES;
    const pipelineDepth = options.pipelineDepth ?? 1;
    if (!Number.isInteger(pipelineDepth) || pipelineDepth < 1)
      throw new QmpUsageError(`pipelineDepth must be a positive integer, got ${String(pipelineDepth)}`);
    if (pipelineDepth > 1 && this.#serial) throw new QmpUsageError('pipelineDepth above 1 needs serialDispatch: false');
    this.#sessionHost = {
      maxQueuedRequests,
      pipelineDepth,
      maxOutputBytes,
      closeFlushTimeoutMs: this.#closeFlushTimeoutMs,
      parserOptions,
      greeting: (session) => ({
        QMP: { version: this.#versionValue(), capabilities: [...session.offeredCapabilities] },
      }),
      wake: (session) => this.#wake(session),
      runOob: (session, value) => this.#runOob(session, value),
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
    if (name === 'qmp_capabilities')
      throw new QmpUsageError('qmp_capabilities is built into QmpServer and cannot be registered');
    if (typeof handler !== 'function') throw new QmpUsageError(`Handler of ${name} is not a function`);
    const known = this.#schema?.command(name);
    this.#commands.set(name, {
      handler: handler as AnyHandler as CommandEntry['handler'],
      allowOob: options.allowOob ?? known?.allowOob ?? false,
      allowPreconfig: options.allowPreconfig ?? known?.allowPreconfig ?? false,
      validate: options.validate ?? true,
      fallback: false,
    });
    return this;
  }

  /** Removes a command; returns whether it was registered. */
  unregister(name: string): boolean {
    return this.#commands.delete(name);
  }

  /** True when `name` has a handler (`qmp_capabilities` always). */
  hasCommand(name: string): boolean {
    return name === 'qmp_capabilities' || this.#commands.has(name);
  }

  /** Names of the registered commands, `qmp_capabilities` first, then in registration order. */
  commandNames(): string[] {
    return ['qmp_capabilities', ...this.#commands.keys()];
  }

  /**
   * Sets the handler for commands that are not registered (e.g. a proxy forwarding to a real QEMU),
   * or removes it with `undefined`. Its arguments are not schema-checked. `allowOob` applies to all
   * commands it serves.
   */
  setFallback(
    handler: QmpFallbackHandler<C, E> | undefined,
    options: { allowOob?: boolean; allowPreconfig?: boolean } = {},
  ): this {
    if (handler === undefined) {
      this.#fallback = undefined;
      return this;
    }
    const fb = handler as unknown as (command: string, args: unknown, ctx: QmpCommandContext<never, never>) => unknown;
    this.#fallback = {
      handler: (args, ctx) => fb(ctx.command, args, ctx),
      allowOob: options.allowOob ?? false,
      allowPreconfig: options.allowPreconfig ?? false,
      validate: false,
      fallback: true,
    };
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
    for (const s of [...this.#order]) if (s.negotiated && !s.closed) s.writeMessage(message);
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
    return this.#order.filter((s) => !s.closed);
  }

  /** Stops listening, ends every session (flushing output), drops throttled events. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#throttle.close();
      await Promise.all([
        ...this.#monitors.map((m) => m.close()),
        ...this.#order.map((s) => s.close(this.#closeFlushTimeoutMs)),
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
    const session = new QmpServerSession(stream, this.#sessionHost, options);
    if (!session.closed) this.#order.push(session);
    return session;
  }

  #sessionClosed(session: QmpServerSession): void {
    const i = this.#order.indexOf(session);
    if (i !== -1) this.#order.splice(i, 1);
  }

  // ---- dispatch -------------------------------------------------------------------------------

  #wake(session: QmpServerSession): void {
    if (this.#serial) {
      if (this.#dispatching || this.#dispatchScheduled) return;
      this.#dispatchScheduled = true;
      queueMicrotask(() => {
        this.#dispatchScheduled = false;
        void this.#drain(() => this.#pickRoundRobin());
      });
      return;
    }
    if (this.#busySessions.has(session)) return;
    this.#busySessions.add(session);
    if (this.#sessionHost.pipelineDepth > 1) {
      queueMicrotask(() => {
        this.#busySessions.delete(session);
        this.#startPipelined(session);
      });
      return;
    }
    queueMicrotask(() => {
      void this.#drain(() => (session.hasQueued() ? session : undefined)).finally(() => {
        this.#busySessions.delete(session);
        if (session.hasQueued()) this.#wake(session);
      });
    });
  }

  /**
   * Starts every queued request of a pipelined session now, in order; each reply is written after
   * the one before it, so the client sees QEMU's reply order.
   */
  #startPipelined(session: QmpServerSession): void {
    for (let taken = session.takeQueued(); taken !== undefined; taken = session.takeQueued()) {
      const done = taken.done;
      let outcome: Outcome | Promise<Outcome>;
      try {
        outcome = this.#runQueued(session, taken.input);
      } catch (err) {
        traceAnomaly('server', session.label, `internal error: ${String(err)}`, err);
        done();
        void session.close();
        return;
      }
      const before = this.#replyTail.get(session);
      let tail: Promise<void> | undefined;
      tail = (async (): Promise<void> => {
        try {
          if (before !== undefined) await before;
          this.#deliver(session, isThenable(outcome) ? await outcome : outcome);
        } catch (err) {
          traceAnomaly('server', session.label, `internal error: ${String(err)}`, err);
          void session.close();
        } finally {
          done();
          if (this.#replyTail.get(session) === tail) this.#replyTail.delete(session);
        }
      })();
      this.#replyTail.set(session, tail);
    }
  }

  /** QEMU's dispatcher: take from the first session with input, then move it to the back. */
  #pickRoundRobin(): QmpServerSession | undefined {
    const i = this.#order.findIndex((s) => s.hasQueued());
    if (i === -1) return undefined;
    const [s] = this.#order.splice(i, 1);
    if (s === undefined) return undefined;
    this.#order.push(s);
    return s;
  }

  async #drain(pick: () => QmpServerSession | undefined): Promise<void> {
    if (this.#serial) this.#dispatching = true;
    try {
      for (let session = pick(); session !== undefined; session = pick()) {
        const taken = session.takeQueued();
        if (taken === undefined) continue;
        try {
          let outcome = this.#runQueued(session, taken.input);
          if (isThenable(outcome)) outcome = await outcome;
          this.#deliver(session, outcome);
        } catch (err) {
          traceAnomaly('server', session.label, `internal error: ${String(err)}`, err);
          void session.close();
        } finally {
          taken.done();
        }
      }
    } finally {
      if (this.#serial) this.#dispatching = false;
    }
  }

  #runQueued(session: QmpServerSession, input: QmpQueuedInput): Outcome | Promise<Outcome> {
    if ('error' in input) return { reply: errorReply('GenericError', input.error, undefined), after: [] };
    return this.#dispatch(session, input.value);
  }

  #runOob(session: QmpServerSession, value: QValue): void {
    const outcome = this.#dispatch(session, value);
    if (isThenable(outcome)) {
      outcome.then(
        (o) => this.#deliver(session, o),
        (err: unknown) => traceAnomaly('server', session.label, `internal error: ${String(err)}`, err),
      );
    } else {
      this.#deliver(session, outcome);
    }
  }

  #deliver(session: QmpServerSession, outcome: Outcome): void {
    const run = (): void => {
      for (const fn of outcome.after) {
        try {
          fn();
        } catch (err) {
          traceAnomaly('server', session.label, `afterReply callback threw: ${String(err)}`, err);
        }
      }
    };
    let message: Record<string, unknown> = outcome.reply;
    try {
      session.writeMessage(message, outcome.after.length > 0 ? run : undefined);
    } catch (err) {
      // The handler returned something the QEMU writer cannot print.
      message = errorReply(
        'GenericError',
        `Invalid return value: ${describeThrown(err).desc}`,
        message['id'] as QValue | undefined,
      );
      session.writeMessage(message, outcome.after.length > 0 ? run : undefined);
    }
    for (const fn of outcome.written ?? []) {
      try {
        fn();
      } catch (err) {
        traceAnomaly('server', session.label, `onReplyWritten callback threw: ${String(err)}`, err);
      }
    }
  }

  /**
   * QEMU's qmp_dispatch: member checks, command lookup (negotiation table or command table), OOB
   * and preconfig checks, argument checking, the handler, and the negotiation-mode rewrite of
   * CommandNotFound. Runs synchronously when the handler does, so a synchronous OOB reply is
   * written before later input is looked at.
   */
  #dispatch(session: QmpServerSession, value: QValue): Outcome | Promise<Outcome> {
    const checked = checkRequest(value, session.oobEnabled);
    if (!checked.ok) return { reply: errorReply('GenericError', checked.desc, checked.id), after: [] };
    const { command, id } = checked;
    const fail = (errorClass: string, desc: string): Outcome => {
      // In negotiation mode QEMU replaces the text of every CommandNotFound error.
      const d =
        errorClass === 'CommandNotFound' && !session.negotiated ? QEMU_PROTOCOL_ERRORS.negotiationRequired : desc;
      return { reply: errorReply(errorClass, d, id), after: [] };
    };
    // Negotiation mode has a table of its own holding only qmp_capabilities.
    const entry =
      command === 'qmp_capabilities'
        ? BUILTIN_CAPABILITIES
        : session.negotiated
          ? (this.#commands.get(command) ?? this.#fallback)
          : undefined;
    if (entry === undefined) return fail('CommandNotFound', QEMU_PROTOCOL_ERRORS.commandNotFound(command));
    if (checked.oob && !entry.allowOob) return fail('GenericError', QEMU_PROTOCOL_ERRORS.noOob(command));
    if (this.preconfig && !entry.allowPreconfig) return fail('GenericError', preconfigRefused(command));
    if (entry === BUILTIN_CAPABILITIES) {
      const r = this.#qmpCapabilities(session, checked.args);
      return r === undefined ? { reply: returnReply({}, id), after: [] } : fail(r.errorClass, r.desc);
    }
    if (entry.validate && this.#schema !== undefined && this.#schema.command(command) !== undefined) {
      const bad = this.#schema.validateArguments(command, toSchemaValue(checked.args) as Record<string, unknown>, {
        numberKind,
      });
      if (bad !== undefined) return fail('GenericError', bad.desc);
    }
    const after: (() => void)[] = [];
    const written: (() => void)[] = [];
    const ctx: QmpCommandContext<C, E> = {
      session,
      server: this,
      command,
      id,
      oob: checked.oob,
      arguments: checked.args,
      signal: session.signal,
      afterReply: (fn) => {
        after.push(fn);
      },
      onReplyWritten: (fn) => {
        written.push(fn);
      },
    };
    let result: unknown;
    try {
      result = entry.handler(toHandlerValue(checked.args), ctx as unknown as QmpCommandContext<never, never>);
    } catch (err) {
      const e = describeThrown(err);
      return { reply: fail(e.errorClass, e.desc).reply, after, written };
    }
    if (isThenable(result)) {
      return Promise.resolve(result).then(
        (value) => ({ reply: returnReply(value, id), after, written }),
        (err: unknown) => {
          const e = describeThrown(err);
          return { reply: fail(e.errorClass, e.desc).reply, after, written };
        },
      );
    }
    return { reply: returnReply(result, id), after, written };
  }

  /** `qmp_capabilities`: QEMU's argument checks, then the mode switch. Returns an error or undefined. */
  #qmpCapabilities(
    session: QmpServerSession,
    args: Map<string, QValue>,
  ): { errorClass: string; desc: string } | undefined {
    const generic = (desc: string): { errorClass: string; desc: string } => ({ errorClass: 'GenericError', desc });
    const enable = args.get('enable');
    const wanted: string[] = [];
    if (enable !== undefined) {
      if (!Array.isArray(enable)) return generic("Invalid parameter type for 'enable', expected: array");
      for (const [i, cap] of enable.entries()) {
        if (typeof cap !== 'string') return generic(`Invalid parameter type for 'enable[${i}]', expected: string`);
        // QEMU names list elements 'null' in this message.
        if (!KNOWN_CAPABILITIES.includes(cap)) return generic(`Parameter 'null' does not accept value '${cap}'`);
        wanted.push(cap);
      }
    }
    for (const key of args.keys()) if (key !== 'enable') return generic(`Parameter '${key}' is unexpected`);
    if (session.negotiated) return { errorClass: 'CommandNotFound', desc: QEMU_PROTOCOL_ERRORS.negotiationComplete };
    const missing = wanted.filter((c) => !session.offeredCapabilities.includes(c));
    if (missing.length > 0) return generic(QEMU_PROTOCOL_ERRORS.capabilityNotAvailable(missing));
    session.setNegotiated(wanted.includes('oob'));
    return undefined;
  }
}
