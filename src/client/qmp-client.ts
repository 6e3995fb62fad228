import type { Duplex } from 'node:stream';
import {
  QmpCommandError,
  QmpConnectionError,
  QmpError,
  QmpLimitError,
  QmpProtocolError,
  QmpStateError,
  QmpTimeoutError,
  QmpUsageError,
  QmpValidationError,
} from '../errors/index.js';
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  MAX_MESSAGE_BYTES,
  MAX_NESTING_DEPTH,
  MAX_PENDING_COMMANDS,
  MAX_QUEUED_REQUESTS,
} from '../limits.js';
import type {
  EventData,
  QmpCommandMap,
  QmpEventMap,
  QmpEventOf,
  QmpExecuteParams,
  QmpReturnsOf,
} from '../protocol/command-map.js';
import { isErrorReply, isEvent, isGreeting, isJsonObject, isReturn } from '../protocol/guards.js';
import type { QmpEvent, QmpGreeting } from '../protocol/messages.js';
import type { Commands as Qemu72Commands, Events as Qemu72Events } from '../qapi/7.2/index.js';
import { QapiSchema, qemuIntrospectionHints } from '../schema/index.js';
import { traceAnomaly, traceIn, traceOut } from '../trace/trace.js';
import type { QmpAddress } from '../transport/address.js';
import { connectTransport, type QmpTlsOptions } from '../transport/connect.js';
import { encodeJson, encodeMessage } from '../wire/json-encoder.js';
import { JsonSplitter } from '../wire/json-splitter.js';
import { compactJsonText, jsonMemberText } from '../wire/json-text.js';
import type { JsonObject, JsonValue } from '../wire/json-value.js';
import { Deadline } from './deadline.js';
import { EventHub, type QmpEventIterator, type QmpEventsOptions, type QmpWaitOptions } from './event-hub.js';
import { type PendingCall, PendingTable } from './pending-table.js';
import { type QmpRunstate, Runstate } from './runstate.js';

/** Options of {@link QmpClient.connect}. */
export interface QmpClientOptions {
  /** Deadline for connecting, the greeting and negotiation together, in ms (default {@link DEFAULT_CONNECT_TIMEOUT_MS}). */
  timeoutMs?: number;
  /** Cancels connecting. */
  signal?: AbortSignal;
  /** Send `qmp_capabilities` after the greeting (default true). `false` for servers like the guest agent, or to negotiate yourself. */
  negotiate?: boolean;
  /** Enable `oob` when the server offers it (default true). */
  oob?: boolean;
  /** TLS over TCP; certificates are verified by default. */
  tls?: QmpTlsOptions | true;
  /** Largest message accepted from the server, in bytes (default 10 MiB). */
  maxMessageBytes?: number;
  /** Deepest nesting accepted from the server (default 1024). */
  maxDepth?: number;
  /** Commands accepted and not yet answered (default 65,536); past it `execute` rejects with `QMP_ERR_LIMIT`. */
  maxPendingCommands?: number;
  /**
   * In-band commands written while OOB is on before the rest wait client-side (default 8, QEMU's
   * queue): keeps QEMU reading so `exec-oob` requests get through.
   */
  maxInFlightInBand?: number;
  /** Default per-call deadline for `execute`, in ms (none by default). */
  commandTimeoutMs?: number;
  /**
   * Send in-band commands without an `id` and match their replies by order (default true: ids are
   * sent). QEMU answers in-band commands strictly in order and reads requests a byte per system
   * call, so leaving the id out makes every command cheaper for it; `exec-oob` always carries an
   * id. Only for servers that answer in order, as QEMU does. A timed-out or aborted command keeps
   * its place until its reply comes.
   */
  inBandIds?: boolean;
  /**
   * `'fetch'`: read the live `query-qmp-schema` once after negotiating; `execute` then rejects
   * unknown commands and invalid arguments before sending, and warns once per deprecated use. Or
   * pass a schema you already have.
   */
  schema?: 'fetch' | QapiSchema;
  /** Receives warnings (deprecated commands or members used); default `process.emitWarning`. */
  onWarning?: (message: string) => void;
  /** Label for traces and errors (default: the address). */
  label?: string;
}

/** Per-call options of `execute`. */
export interface QmpExecuteOptions {
  /** Deadline in ms. On expiry the call rejects with `QMP_ERR_TIMEOUT`; the command may still run in QEMU. */
  timeoutMs?: number;
  /** Aborts the call (`QMP_ERR_ABORTED`). If it was already sent, the command may still run in QEMU. */
  signal?: AbortSignal;
}

export type { QmpEventOf } from '../protocol/command-map.js';

const QUIT_COMMANDS = new Set(['quit']);
const STALL_NUDGE_FIRST_MS = 2;
const STALL_NUDGE_MAX_MS = 200;

/**
 * A QMP client session: connect, greeting, negotiation, pipelined commands with ids, OOB, events,
 * deadlines and clean failure when the server goes away. Typed by a command map and an event map
 * (QEMU 7.2's generated ones by default); `executeRaw` accepts any command.
 */
export class QmpClient<C extends QmpCommandMap<C> = Qemu72Commands, E extends QmpEventMap<E> = Qemu72Events> {
  readonly #stream: Duplex;
  readonly #label: string;
  readonly #tlsNudge: boolean;
  #stallTimer: NodeJS.Timeout | undefined;
  #dataSinceNudge = false;
  readonly #splitter: JsonSplitter;
  readonly #pending = new PendingTable();
  readonly #hub = new EventHub();
  readonly #runstate = new Runstate();
  readonly #held: PendingCall[] = [];
  readonly #maxPending: number;
  readonly #maxInFlightInBand: number;
  readonly #commandTimeoutMs: number | undefined;
  readonly #onWarning: (message: string) => void;
  readonly #warned = new Set<string>();
  readonly #closeHandlers = new Set<(reason: QmpError | undefined) => void>();
  #greeting: QmpGreeting | undefined;
  #greetingWaiter: ((g: QmpGreeting) => void) | undefined;
  #greetingFail: ((e: Error) => void) | undefined;
  #oob = false;
  #nextId = 1;
  /**
   * Ids whose reply came, reused before new ones: QEMU reads requests a byte per system call, so
   * short ids make every request cheaper for it.
   */
  readonly #freeIds: number[] = [];
  readonly #inBandIds: boolean;
  #inBandWritten = 0;
  #outBuf = '';
  #flushScheduled = false;
  #quitSent = false;
  #schema: QapiSchema | undefined;
  #closeReason: QmpError | undefined;
  #closedPromise: Promise<QmpError | undefined>;
  #resolveClosed!: (reason: QmpError | undefined) => void;

  private constructor(stream: Duplex, label: string, tlsNudge: boolean, options: QmpClientOptions) {
    this.#stream = stream;
    this.#label = options.label ?? label;
    this.#tlsNudge = tlsNudge;
    this.#splitter = new JsonSplitter({
      maxMessageBytes: options.maxMessageBytes ?? MAX_MESSAGE_BYTES,
      maxDepth: options.maxDepth ?? MAX_NESTING_DEPTH,
    });
    this.#maxPending = options.maxPendingCommands ?? MAX_PENDING_COMMANDS;
    this.#maxInFlightInBand = options.maxInFlightInBand ?? MAX_QUEUED_REQUESTS;
    this.#commandTimeoutMs = options.commandTimeoutMs;
    this.#inBandIds = options.inBandIds ?? true;
    this.#onWarning = options.onWarning ?? ((m) => process.emitWarning(m, { code: 'QMPKIT_DEPRECATED' }));
    if (options.schema instanceof QapiSchema) this.#schema = options.schema;
    this.#closedPromise = new Promise((r) => {
      this.#resolveClosed = r;
    });
    stream.on('data', (chunk: Buffer | string) => this.#onData(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
    stream.on('end', () => this.#lost(undefined));
    stream.on('close', () => this.#lost(undefined));
    stream.on('error', (err: NodeJS.ErrnoException) => this.#lost(err));
  }

  /**
   * Connects to a QMP server (a socket path, `host:port`, `unix:PATH`, `tcp:HOST:PORT` with or without
   * QEMU's `,server=on,wait=off`, or a connected `Duplex`), reads and checks the greeting, and
   * negotiates capabilities (`oob` when offered). Everything happens within `timeoutMs`.
   */
  static async connect<C extends QmpCommandMap<C> = Qemu72Commands, E extends QmpEventMap<E> = Qemu72Events>(
    target: string | QmpAddress | Duplex,
    options: QmpClientOptions = {},
  ): Promise<QmpClient<C, E>> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const started = Date.now();
    const transport = await connectTransport(target, { timeoutMs, signal: options.signal, tls: options.tls });
    const client = new QmpClient<C, E>(transport.stream, transport.label, transport.tls, options);
    const remaining = (): number => Math.max(1, timeoutMs - (Date.now() - started));
    try {
      await client.#handshake(options, remaining);
    } catch (err) {
      client.#shutdown(err instanceof QmpError ? err : new QmpProtocolError(String(err), { cause: err }));
      client.#stream.destroy();
      throw err;
    }
    return client;
  }

  async #handshake(options: QmpClientOptions, remaining: () => number): Promise<void> {
    const what = `connecting to ${this.#label}`;
    const greeting = await new Promise<QmpGreeting>((resolve, reject) => {
      const deadline = new Deadline(what, remaining(), options.signal, (err) =>
        reject(
          err instanceof QmpTimeoutError
            ? new QmpTimeoutError(
                `No QMP greeting from ${this.#label} within ${err.timeoutMs} ms (is another client connected to this monitor? QEMU serves one at a time)`,
                err.timeoutMs,
                { code: 'QMP_ERR_CONNECT_TIMEOUT' },
              )
            : err,
        ),
      );
      if (this.#greeting) {
        deadline.clear();
        resolve(this.#greeting);
        return;
      }
      this.#greetingWaiter = (g) => {
        deadline.clear();
        resolve(g);
      };
      this.#greetingFail = (e) => {
        deadline.clear();
        reject(e);
      };
    });
    if (options.negotiate === false) {
      this.#runstate.to('ready');
      return;
    }
    this.#runstate.to('negotiating');
    const offered = greeting.QMP.capabilities;
    const enable = options.oob !== false && offered.includes('oob') ? ['oob'] : [];
    const args: JsonObject = enable.length > 0 ? { enable } : {};
    try {
      await this.#send('qmp_capabilities', enable.length > 0 ? args : undefined, false, {
        timeoutMs: remaining(),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (err) {
      if (err instanceof QmpTimeoutError) {
        throw new QmpTimeoutError(`Capabilities negotiation with ${this.#label} timed out`, err.timeoutMs, {
          code: 'QMP_ERR_CONNECT_TIMEOUT',
        });
      }
      throw err;
    }
    this.#oob = enable.length > 0;
    this.#runstate.to('ready');
    if (options.schema === 'fetch') {
      const entries = await this.#send('query-qmp-schema', undefined, false, { timeoutMs: remaining() });
      if (!Array.isArray(entries)) throw new QmpProtocolError('query-qmp-schema did not return an array');
      // Introspection collapses integer widths and alternate names; for a known QEMU version the
      // schema module has them, so validation texts match that QEMU exactly.
      const hints = qemuIntrospectionHints(greeting.QMP.version.qemu);
      this.#schema = QapiSchema.fromIntrospection(entries, hints ? { hints } : {});
    }
  }

  /** The server's greeting: version and offered capabilities. */
  get greeting(): QmpGreeting {
    if (!this.#greeting) throw new QmpStateError('QMP_ERR_STATE', 'No greeting yet', this.#runstate.state);
    return this.#greeting;
  }

  /** The runstate: connecting, negotiating, ready, closing, closed. */
  get state(): QmpRunstate {
    return this.#runstate.state;
  }

  /** True when `oob` was negotiated and `executeOob` may be used. */
  get oobEnabled(): boolean {
    return this.#oob;
  }

  /** Commands accepted and not yet answered. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** The live schema when connected with `schema: 'fetch'` (or the one given). */
  get schema(): QapiSchema | undefined {
    return this.#schema;
  }

  /**
   * Resolves once the session is over: with `undefined` after `close()` or a clean end after
   * `quit`, otherwise with the error that ended it. Never rejects.
   */
  get closed(): Promise<QmpError | undefined> {
    return this.#closedPromise;
  }

  /** Registers a handler called once when the session ends (see {@link closed}). */
  onClose(handler: (reason: QmpError | undefined) => void): () => void {
    if (this.#runstate.state === 'closed') {
      queueMicrotask(() => handler(this.#closeReason));
      return () => {};
    }
    this.#closeHandlers.add(handler);
    return () => this.#closeHandlers.delete(handler);
  }

  /**
   * Runs a command and resolves to its `return`. Rejects with `QmpCommandError` (QEMU's `class` and
   * `desc` verbatim) on an error reply, `QMP_ERR_TIMEOUT`/`QMP_ERR_ABORTED` per call (the command may
   * still run in QEMU), `QMP_ERR_DISCONNECTED` if the connection drops first (it may or may not have
   * run), `QMP_ERR_VALIDATION` before sending when a schema is loaded and the arguments do not fit.
   */
  execute<K extends keyof C & string>(
    name: K,
    ...params: QmpExecuteParams<C[K], QmpExecuteOptions>
  ): Promise<QmpReturnsOf<C[K]>> {
    const [args, options] = params as [unknown, QmpExecuteOptions | undefined];
    return this.#command(name, args, false, options) as Promise<QmpReturnsOf<C[K]>>;
  }

  /** Runs any command, typed or not: the escape hatch for commands the types do not know. */
  executeRaw(
    name: string,
    args?: JsonObject | Record<string, unknown>,
    options?: QmpExecuteOptions,
  ): Promise<JsonValue> {
    return this.#command(name, args, false, options);
  }

  /**
   * Runs a command out-of-band (`exec-oob`): it overtakes queued in-band commands. Needs `oob`
   * negotiated (`QMP_ERR_STATE` otherwise) and a command that allows it (`migrate-recover`,
   * `migrate-pause`, `yank`, `query-yank` in 7.2), else QEMU answers with an error.
   */
  executeOob<K extends keyof C & string>(
    name: K,
    ...params: QmpExecuteParams<C[K], QmpExecuteOptions>
  ): Promise<QmpReturnsOf<C[K]>> {
    const [args, options] = params as [unknown, QmpExecuteOptions | undefined];
    return (this.#oobRefused(name) ?? this.#command(name, args, true, options)) as Promise<QmpReturnsOf<C[K]>>;
  }

  /**
   * Runs a command whose arguments are JSON text already and resolves to the JSON text of its
   * `return` exactly as the server wrote it (on one line: a `pretty=on` server's line breaks are
   * taken out). For pass-through tools such as the proxy: decoding and re-encoding QEMU's reply
   * would not give its bytes back. `argumentsJson` must be one JSON object (it is not checked beyond
   * that it looks like one); errors reject as in {@link execute}. No schema checks are made.
   *
   * `onReply` is called synchronously when the reply (return or error) is read, before any message
   * the server sent after it reaches an event listener; the promise settles later. A relay uses it
   * to keep the server's order of replies and events.
   */
  executeText(
    name: string,
    argumentsJson?: string,
    options: QmpExecuteOptions & { oob?: boolean; onReply?: () => void } = {},
  ): Promise<string> {
    // Any name goes to the server, even an empty one: QEMU's answer is what a relay must pass on.
    const blocked = this.#refuse(name, true);
    if (blocked) return blocked;
    if (argumentsJson !== undefined && !looksLikeObject(argumentsJson))
      return Promise.reject(new QmpUsageError(`executeText ${name}: the arguments must be a JSON object`));
    const oob = options.oob === true;
    if (oob) {
      const refused = this.#oobRefused(name);
      if (refused) return refused;
    }
    return this.#send(name, undefined, oob, options, {
      args: argumentsJson,
      onReply: options.onReply,
    }) as Promise<string>;
  }

  /** A rejected promise when OOB was not negotiated, or undefined. */
  #oobRefused(name: string): Promise<never> | undefined {
    if (this.#oob) return undefined;
    return Promise.reject(
      new QmpStateError(
        'QMP_ERR_STATE',
        `exec-oob ${name}: OOB was not negotiated with ${this.#label}`,
        this.#runstate.state,
      ),
    );
  }

  /** Why a command cannot be sent now (a rejected promise), or undefined. */
  #refuse(name: string, anyName = false): Promise<never> | undefined {
    const state = this.#runstate.state;
    if (state !== 'ready') {
      const code = state === 'closed' || state === 'closing' ? 'QMP_ERR_CLOSED' : 'QMP_ERR_STATE';
      const why =
        code === 'QMP_ERR_CLOSED'
          ? `the client is ${state}${this.#closeReason ? ` (${this.#closeReason.message})` : ''}`
          : `the client is still ${state}`;
      return Promise.reject(new QmpStateError(code, `Cannot execute ${name}: ${why}`, state));
    }
    if (typeof name !== 'string' || (name === '' && !anyName))
      return Promise.reject(new QmpUsageError('execute: the command name must be a non-empty string'));
    return undefined;
  }

  #command(name: string, args: unknown, oob: boolean, options: QmpExecuteOptions | undefined): Promise<JsonValue> {
    const blocked = this.#refuse(name);
    if (blocked) return blocked;
    if (args !== undefined && args !== null && !isJsonObject(args)) {
      return Promise.reject(new QmpUsageError(`execute ${name}: arguments must be an object`));
    }
    if (this.#schema) {
      if (!this.#schema.command(name)) {
        return Promise.reject(
          new QmpValidationError(
            `${name}: the connected QEMU has no such command (checked against its live schema)`,
            'execute',
          ),
        );
      }
      const issue = this.#schema.validateArguments(name, args ?? {});
      if (issue) return Promise.reject(new QmpValidationError(`${name}: ${issue.message}`, issue.path));
      for (const d of this.#schema.deprecations(name, args ?? {})) {
        if (this.#warned.has(d)) continue;
        this.#warned.add(d);
        this.#onWarning(`qmpkit: ${d} is deprecated in the connected QEMU`);
      }
    }
    return this.#send(name, (args ?? undefined) as JsonObject | undefined, oob, options ?? {});
  }

  #send(
    name: string,
    args: JsonObject | undefined,
    oob: boolean,
    options: QmpExecuteOptions,
    text?: { args: string | undefined; onReply?: (() => void) | undefined },
  ): Promise<JsonValue> {
    if (this.#pending.size >= this.#maxPending) {
      return Promise.reject(
        new QmpLimitError(
          `Cannot execute ${name}: ${this.#maxPending} commands are already pending (raise the maxPendingCommands option)`,
          'maxPendingCommands',
          this.#maxPending,
        ),
      );
    }
    const msg: Record<string, unknown> = oob ? { 'exec-oob': name } : { execute: name };
    if (args !== undefined) msg['arguments'] = args;
    let line: string;
    const id = this.#takeId();
    const sendId = oob || this.#inBandIds;
    if (sendId) msg['id'] = id;
    try {
      line =
        text === undefined
          ? encodeMessage(msg)
          : `{"${oob ? 'exec-oob' : 'execute'}":${encodeJson(name)}${text.args === undefined ? '' : `,"arguments":${text.args}`}${sendId ? `,"id":${id}` : ''}}\n`;
    } catch (err) {
      this.#freeIds.push(id);
      return Promise.reject(err);
    }
    return new Promise<JsonValue>((resolve, reject) => {
      const call: PendingCall = {
        id,
        command: name,
        args,
        oob,
        line,
        returnText: text !== undefined,
        onReply: text?.onReply,
        written: false,
        deadline: undefined,
        resolve: (v) => {
          call.deadline?.clear();
          resolve(v);
        },
        reject: (e) => {
          call.deadline?.clear();
          reject(e);
        },
      };
      const timeoutMs = options.timeoutMs ?? this.#commandTimeoutMs;
      if (timeoutMs !== undefined || options.signal) {
        let fired = false;
        call.deadline = new Deadline(name, timeoutMs, options.signal, (err) => {
          fired = true;
          this.#abandon(call, err);
        });
        if (fired) return;
      }
      this.#pending.add(call);
      traceOut('client', this.#label, msg);
      // With OOB on, QEMU stops reading once 8 in-band requests queue up, which would also hold back
      // exec-oob requests: keep the surplus here (in order) until replies free a slot.
      if (!oob && this.#oob && (this.#inBandWritten >= this.#maxInFlightInBand || this.#held.length > 0))
        this.#held.push(call);
      else this.#write(call);
    });
  }

  #takeId(): number {
    const free = this.#freeIds.pop();
    if (free !== undefined) return free;
    const id = this.#nextId++;
    if (this.#nextId > 0x7fffffff) this.#nextId = 1;
    return id;
  }

  #write(call: PendingCall): void {
    this.#pending.markWritten(call);
    if (!call.oob) this.#inBandWritten++;
    if (QUIT_COMMANDS.has(call.command)) this.#quitSent = true;
    this.#outBuf += call.line;
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      // Gather the commands of one tick into one write: pipelined bursts cost one syscall.
      queueMicrotask(() => this.#flush());
    }
  }

  #flush(): void {
    this.#flushScheduled = false;
    const data = this.#outBuf;
    this.#outBuf = '';
    if (data === '' || this.#stream.destroyed || !this.#stream.writable) return;
    this.#stream.write(data);
    // QEMU 7.2 over TLS leaves a request that came in one TLS record unread until another record
    // arrives: a separate one-byte record wakes it.
    if (this.#tlsNudge) {
      this.#stream.write('\n');
      this.#armStallNudge();
    }
  }

  /**
   * QEMU 7.2 over TLS can also stall with several requests in flight: plaintext it has not read yet
   * sits in its TLS buffer and nothing wakes it. While written commands wait and nothing comes back,
   * another one-byte record is sent, after 2 ms, then less and less often (up to every 200 ms).
   */
  #armStallNudge(delay = STALL_NUDGE_FIRST_MS): void {
    if (this.#stallTimer !== undefined) return;
    this.#stallTimer = setTimeout(() => {
      this.#stallTimer = undefined;
      if (this.#stream.destroyed || !this.#stream.writable || this.#pending.writtenCount() === 0) return;
      if (this.#dataSinceNudge) {
        this.#dataSinceNudge = false;
        this.#armStallNudge();
        return;
      }
      this.#stream.write('\n');
      this.#armStallNudge(Math.min(delay * 2, STALL_NUDGE_MAX_MS));
    }, delay);
    this.#stallTimer.unref?.();
  }

  /** A timed-out or aborted call: reject it now; its late reply will be discarded by id. */
  #abandon(call: PendingCall, err: Error): void {
    if (this.#pending.get(call.id) !== call) {
      call.reject(err);
      return;
    }
    if (!this.#inBandIds && call.written && !call.oob) {
      // Matched by order: the call keeps its place so its reply is not taken for the next one's.
      call.abandoned = true;
      call.reject(err);
      return;
    }
    const heldAt = this.#held.indexOf(call);
    if (heldAt !== -1) this.#held.splice(heldAt, 1);
    this.#pending.delete(call, true);
    // A written call's id stays taken until its late reply; one never sent is free now.
    if (!call.written) this.#freeIds.push(call.id);
    // A written in-band call still occupies QEMU's queue until its reply comes; count it until then.
    call.reject(err);
  }

  #onData(chunk: Buffer): void {
    this.#dataSinceNudge = true;
    let items: ReturnType<JsonSplitter['push']>;
    try {
      items = this.#splitter.push(chunk);
    } catch (err) {
      this.#fail(
        new QmpProtocolError(`Reading from ${this.#label} failed: ${String(err)}`, {
          code: 'QMP_ERR_JSON',
          cause: err,
        }),
      );
      return;
    }
    for (const item of items) {
      if ('error' in item) {
        // The lost message could have been any reply: no call can be trusted to get its answer.
        this.#fail(item.error);
        return;
      }
      this.#onMessage(item.value, item.text);
      if (this.#runstate.state === 'closed') return;
    }
    // Over TLS, QEMU may hold more of our requests unread (see #armStallNudge): each reply that
    // leaves others waiting is answered with a wake-up record at once.
    if (this.#tlsNudge && items.length > 0 && !this.#flushScheduled && this.#pending.writtenCount() > 0)
      this.#stream.write('\n');
  }

  #onMessage(msg: JsonValue, text: string): void {
    traceIn('client', this.#label, msg);
    if (!isJsonObject(msg)) {
      traceAnomaly('client', this.#label, 'dropped a message that is not an object', msg);
      return;
    }
    if ('return' in msg || 'error' in msg) {
      this.#onReply(msg, text);
      return;
    }
    if (isEvent(msg)) {
      this.#hub.dispatch(msg, text);
      return;
    }
    if (this.#greeting === undefined) {
      if (isGreeting(msg)) {
        this.#greeting = msg;
        this.#greetingWaiter?.(msg);
        this.#greetingWaiter = undefined;
        this.#greetingFail = undefined;
      } else {
        const err = new QmpProtocolError(
          `${this.#label} did not send a QMP greeting: ${JSON.stringify(msg, bigintSafe).slice(0, 200)}`,
        );
        this.#greetingFail?.(err);
        this.#fail(err);
      }
      return;
    }
    traceAnomaly('client', this.#label, 'dropped a message that is neither a reply nor an event', msg);
  }

  #onReply(msg: JsonObject, text: string): void {
    const id = msg['id'];
    let call: PendingCall | undefined;
    if (id === undefined) {
      // QEMU answers parse errors and non-object requests without an id. In-band replies come in
      // request order, so it belongs to the oldest written in-band command.
      call = this.#pending.oldestWrittenInBand();
      if (!call) {
        traceAnomaly('client', this.#label, 'reply without id and no command waiting', msg);
        return;
      }
    } else {
      call = typeof id === 'number' ? this.#pending.get(id) : undefined;
      if (!call) {
        if (typeof id === 'number' && this.#pending.takeAbandoned(id)) {
          this.#freeIds.push(id);
          this.#inBandDone(undefined);
          traceAnomaly('client', this.#label, `late reply to abandoned command id ${id} discarded`, msg);
        } else
          traceAnomaly('client', this.#label, `reply with unknown id ${JSON.stringify(id, bigintSafe)} dropped`, msg);
        return;
      }
    }
    this.#pending.delete(call);
    // With ids on, an id-less reply was matched by order only: its call's own reply may still come,
    // so that id is not handed out again.
    if (id !== undefined || !this.#inBandIds) this.#freeIds.push(call.id);
    this.#inBandDone(call);
    if (call.abandoned) {
      traceAnomaly('client', this.#label, `late reply to abandoned command ${call.command} discarded`, msg);
      return;
    }
    if (call.onReply !== undefined) {
      try {
        call.onReply();
      } catch (err) {
        traceAnomaly('client', this.#label, `onReply callback of ${call.command} threw: ${String(err)}`, err);
      }
    }
    if (isReturn(msg)) call.resolve(call.returnText ? returnTextOf(text, msg) : msg.return);
    else if (isErrorReply(msg)) {
      call.reject(
        new QmpCommandError(msg.error.class, msg.error.desc, {
          command: call.command,
          arguments: call.args,
          reply: msg,
        }),
      );
    } else {
      call.reject(
        new QmpProtocolError(`Malformed reply to ${call.command}: ${JSON.stringify(msg, bigintSafe).slice(0, 200)}`),
      );
    }
  }

  /** An in-band reply came (for `call`, or for an abandoned one): let a held command go. */
  #inBandDone(call: PendingCall | undefined): void {
    if (call?.oob) return;
    if (this.#inBandWritten > 0) this.#inBandWritten--;
    while (this.#held.length > 0 && this.#inBandWritten < this.#maxInFlightInBand) {
      const next = this.#held.shift()!;
      this.#write(next);
    }
  }

  /**
   * Adds an event handler. `name` is an event name or `'*'` for every event. The handler's second
   * argument is the event's JSON text as the server wrote it (for pass-through tools). Returns a
   * function that removes it. A handler that throws does not stop delivery to the others.
   */
  on<K extends keyof E & string>(name: K | '*', handler: (event: QmpEventOf<E, K>, text: string) => void): () => void {
    const h = handler as (e: QmpEvent<unknown>, text: string) => void;
    this.#hub.on(name, h);
    return () => this.#hub.off(name, h);
  }

  /** Removes a handler added with {@link on}. */
  off<K extends keyof E & string>(name: K | '*', handler: (event: QmpEventOf<E, K>, text: string) => void): void {
    this.#hub.off(name, handler as (e: QmpEvent<unknown>, text: string) => void);
  }

  /**
   * Iterates events as they arrive, with a bounded buffer (oldest dropped and counted in `dropped`).
   * Ends when the session ends, `signal` aborts, or the loop breaks.
   */
  events<K extends keyof E & string>(
    options: QmpEventsOptions<K, EventData<E, K>> = {},
  ): QmpEventIterator<QmpEventOf<E, K>> {
    return this.#hub.iterate(options as QmpEventsOptions<string, unknown>) as unknown as QmpEventIterator<
      QmpEventOf<E, K>
    >;
  }

  /**
   * Resolves with the next event `name` whose data matches `match` (a partial object or a
   * predicate). Arm it before the command that causes the event: QEMU may send the event before the
   * command's reply. Rejects with `QMP_ERR_TIMEOUT`, `QMP_ERR_ABORTED`, or the error that ended the
   * session.
   */
  waitForEvent<K extends keyof E & string>(
    name: K,
    options: QmpWaitOptions<EventData<E, K>> = {},
  ): Promise<QmpEventOf<E, K>> {
    return this.#hub.wait(name, options as QmpWaitOptions<unknown>) as Promise<QmpEventOf<E, K>>;
  }

  /**
   * Answers feature questions from the live schema (needs `schema: 'fetch'`): does the command
   * exist, does it have this member (`'arguments.driver'`), does that enum member accept `value`.
   */
  supports(command: string, memberPath?: string, value?: string): boolean {
    if (!this.#schema) {
      throw new QmpStateError(
        'QMP_ERR_STATE',
        "supports() needs the live schema: connect with { schema: 'fetch' }",
        this.#runstate.state,
      );
    }
    return this.#schema.supports(command, memberPath, value);
  }

  /**
   * Closes the session: pending calls reject with `QMP_ERR_CLOSED`, iterators end, the socket is
   * ended (and destroyed if it does not close promptly). Idempotent.
   */
  async close(): Promise<void> {
    const state = this.#runstate.state;
    if (state === 'closed') return;
    if (state !== 'closing') {
      this.#runstate.to('closing');
      this.#flush();
      this.#shutdown(undefined, new QmpStateError('QMP_ERR_CLOSED', `The client was closed`, 'closing'));
      // Once our last bytes are flushed nothing more is wanted from the peer: destroy then, so a
      // peer that never closes its side cannot hold close() open.
      const stream = this.#stream;
      if (!stream.destroyed) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => stream.destroy(), 1000);
          stream.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          stream.once('finish', () => stream.destroy());
          stream.end();
        });
      }
    }
    await this.#closedPromise;
  }

  /** A fatal problem: close the connection and fail everything with `err`. */
  #fail(err: QmpError): void {
    this.#shutdown(err);
    this.#stream.destroy();
  }

  /** The connection ended or failed. */
  #lost(err: NodeJS.ErrnoException | undefined): void {
    if (this.#runstate.state === 'closed') return;
    if (this.#runstate.state === 'closing') {
      this.#shutdown(undefined);
      return;
    }
    const detail = err ? `${err.code ?? 'error'}: ${err.message}` : 'the server closed the connection';
    // After `quit`, QEMU closes the socket (often with ECONNRESET, the request's newline unread):
    // that is success, not a failure.
    const quitting = this.#quitSent;
    this.#shutdown(
      quitting
        ? undefined
        : new QmpConnectionError('QMP_ERR_DISCONNECTED', `Lost the connection to ${this.#label} (${detail})`, {
            address: this.#label,
            syscallCode: err?.code,
            ...(err ? { cause: err } : {}),
          }),
    );
    this.#stream.destroy();
  }

  /** Settles everything once; `reason` undefined = normal end. */
  #shutdown(reason: QmpError | undefined, pendingError?: QmpError): void {
    if (this.#runstate.state === 'closed') return;
    this.#runstate.to('closed');
    this.#closeReason = reason;
    if (this.#stallTimer !== undefined) clearTimeout(this.#stallTimer);
    const base = pendingError ?? reason;
    this.#greetingFail?.(
      base ?? new QmpConnectionError('QMP_ERR_DISCONNECTED', `${this.#label} closed before greeting`),
    );
    this.#greetingFail = undefined;
    this.#greetingWaiter = undefined;
    this.#held.length = 0;
    for (const call of this.#pending.drain()) {
      if (QUIT_COMMANDS.has(call.command) && call.written && base === undefined) {
        call.resolve({});
        continue;
      }
      call.reject(this.#callError(call, base));
    }
    const endErr = base ?? new QmpConnectionError('QMP_ERR_DISCONNECTED', `The session with ${this.#label} ended`);
    this.#hub.end(endErr);
    for (const h of [...this.#closeHandlers]) {
      try {
        h(reason);
      } catch (err) {
        traceAnomaly('client', this.#label, `close handler threw: ${String(err)}`, err);
      }
    }
    this.#closeHandlers.clear();
    this.#resolveClosed(reason);
  }

  #callError(call: PendingCall, base: QmpError | undefined): QmpError {
    if (base instanceof QmpStateError) {
      return new QmpStateError(
        'QMP_ERR_CLOSED',
        `${call.command}: the client was closed${call.written ? '; the command may or may not have run' : ' before it was sent'}`,
        'closed',
      );
    }
    if (base instanceof QmpConnectionError || base === undefined) {
      const cause = base?.message ?? `the connection to ${this.#label} ended`;
      return new QmpConnectionError(
        'QMP_ERR_DISCONNECTED',
        call.written
          ? `${call.command}: ${cause}; the command may or may not have run`
          : `${call.command}: ${cause} before the command was sent; it did not run`,
        { address: this.#label, syscallCode: base?.syscallCode, ...(base ? { cause: base } : {}) },
      );
    }
    return base;
  }
}

function bigintSafe(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

/**
 * The text of `return` in the reply `text` (decoded as `msg`). QEMU writes `{"return": X, "id": N}`,
 * or `{"return": X}` to a request without id, which are cut directly; anything else (another order,
 * pretty=on) is scanned.
 */
function returnTextOf(text: string, msg: JsonObject): string {
  const head = '{"return": ';
  if (text.startsWith(head)) {
    const id = msg['id'];
    if (id === undefined) {
      if (Object.keys(msg).length === 1 && text.endsWith('}')) return text.slice(head.length, -1);
    } else if (typeof id === 'number') {
      const tail = `, "id": ${id}}`;
      if (text.endsWith(tail)) return text.slice(head.length, text.length - tail.length);
    }
  }
  return compactJsonText(jsonMemberText(text, 'return') ?? 'null');
}

function looksLikeObject(text: string): boolean {
  const t = text.trim();
  return t.startsWith('{') && t.endsWith('}');
}
