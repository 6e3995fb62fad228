import type { Duplex } from 'node:stream';
import { type QmpError, QmpStateError, QmpUsageError, QmpValidationError } from '../errors/qmp-error.js';
import { DEFAULT_CONNECT_TIMEOUT_MS } from '../limits.js';
import type {
  EventData,
  QmpCommandMap,
  QmpEventMap,
  QmpEventOf,
  QmpExecuteParams,
  QmpNameCheck,
  QmpReturnsOf,
} from '../protocol/command-map.js';
import { isJsonObject } from '../protocol/guards.js';
import type { QmpEvent, QmpGreeting } from '../protocol/messages.js';
import type { Commands as Qemu72Commands, Events as Qemu72Events } from '../qapi/7.2/index.js';
// Type only: the schema module is loaded when `schema: 'fetch'` needs it, so one-shot tools start fast.
import type { QapiSchema } from '../schema/index.js';
import type { QmpAddress } from '../transport/address.js';
import type { JsonObject, JsonValue } from '../wire/json-value.js';
import type { QmpEventIterator, QmpEventsOptions, QmpWaitOptions } from './event-hub.js';
import type {
  QmpAddedFd,
  QmpAddFdOptions,
  QmpClientOptions,
  QmpCloseFdsetOptions,
  QmpExecuteOptions,
  QmpRequestOptions,
} from './options.js';
import type { QmpListener, QmpListenerOptions } from './qmp-listener.js';
import { type QmpReconnectEvent, ReconnectPolicy } from './reconnect-policy.js';
import type { ReconnectingSession } from './reconnecting-session.js';
import type { QmpRunstate } from './runstate.js';
import type { QmpSchemaSource } from './schema-source.js';
import { SchemaWarnings } from './schema-warnings.js';
import { QmpSession } from './session.js';
import type { SessionLink } from './session-link.js';

/**
 * A QMP client: connect, greeting, negotiation, pipelined commands with ids, OOB, events, deadlines
 * and clean failure when the server goes away. Typed by a command map and an event map (QEMU 7.2's
 * generated ones by default); `executeRaw` accepts any command. A facade over one {@link QmpSession},
 * adding the types and the checks against the live schema.
 */
export class QmpClient<C extends QmpCommandMap<C> = Qemu72Commands, E extends QmpEventMap<E> = Qemu72Events> {
  #session!: SessionLink;
  /** The session again when it is a reconnecting one, for `onReconnect`. */
  #reconnecting: ReconnectingSession | undefined;
  readonly #warnings: SchemaWarnings;
  #schema: QapiSchema | undefined;
  /** A bundled schema not read yet: connecting with `'auto'` costs no parsing until a check needs it. */
  #schemaLoader: (() => QapiSchema) | undefined;
  #schemaSource: QmpSchemaSource | undefined;

  private constructor(options: QmpClientOptions) {
    this.#warnings = new SchemaWarnings(
      options.deprecationWarnings ?? 'warn',
      options.onWarning ?? ((m) => process.emitWarning(m, { code: 'QMPKIT_DEPRECATED' })),
    );
    if (typeof options.schema === 'object') {
      this.#schema = options.schema;
      this.#schemaSource = { kind: 'given' };
    }
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
    if (options.reconnect !== undefined) {
      const policy = new ReconnectPolicy(options.reconnect);
      if (typeof target !== 'string' && !('kind' in target))
        throw new QmpUsageError('reconnect needs an address to dial again, not a connected stream');
      const client = new QmpClient<C, E>(options);
      // Loaded on demand, like accept mode and the schema: a one-shot connect needs none of them.
      const { ReconnectingSession } = await import('./reconnecting-session.js');
      client.#reconnecting = await ReconnectingSession.connect(target, options, policy, async (session) => {
        if (options.schema === 'fetch' || options.schema === 'auto')
          await client.#loadSchema(session, options.schema, options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
      });
      client.#session = client.#reconnecting;
      return client;
    }
    const client = new QmpClient<C, E>(options);
    client.#session = await QmpSession.connect(target, options, async (session, remaining) => {
      if (options.schema === 'fetch' || options.schema === 'auto')
        await client.#loadSchema(session, options.schema, remaining());
    });
    return client;
  }

  /**
   * Accept mode: listens on `address` for QEMU to dial in (QEMU started with `-qmp unix:PATH` or
   * `-qmp tcp:HOST:PORT`, without `server=on`). Listen first, then start QEMU, then `accept()`: each
   * accept takes one connection and resolves with a client that has read the greeting and
   * negotiated, as `connect` does with `options`. `close()` stops listening and removes the socket
   * file (created 0600); accepted clients stay connected. `reconnect` does not apply (QEMU dials).
   */
  static async listen<C extends QmpCommandMap<C> = Qemu72Commands, E extends QmpEventMap<E> = Qemu72Events>(
    address: string | QmpAddress,
    options: QmpClientOptions & QmpListenerOptions = {},
  ): Promise<QmpListener<QmpClient<C, E>>> {
    const { reconnect: _ignored, maxQueuedConnections, ...clientOptions } = options;
    const { QmpListener } = await import('./qmp-listener.js');
    return QmpListener.listen<QmpClient<C, E>>(
      address,
      (stream, timeoutMs, signal) =>
        QmpClient.connect<C, E>(stream, {
          ...clientOptions,
          timeoutMs,
          ...(signal ? { signal } : {}),
        }),
      {
        ...(maxQueuedConnections !== undefined ? { maxQueuedConnections } : {}),
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      },
    );
  }

  async #loadSchema(session: QmpSession, mode: 'auto' | 'fetch', timeoutMs: number): Promise<void> {
    const { loadSessionSchema } = await import('./schema-source.js');
    const { schema, source } = await loadSessionSchema(session, mode, session.label, timeoutMs);
    await this.#warnings.prepare();
    this.#schema = typeof schema === 'function' ? undefined : schema;
    this.#schemaLoader = typeof schema === 'function' ? schema : undefined;
    this.#schemaSource = source;
  }

  #currentSchema(): QapiSchema | undefined {
    if (this.#schemaLoader !== undefined) {
      this.#schema = this.#schemaLoader();
      this.#schemaLoader = undefined;
    }
    return this.#schema;
  }

  /** The server's greeting: version and offered capabilities. */
  get greeting(): QmpGreeting {
    const g = this.#session.greeting;
    if (!g) throw new QmpStateError('QMP_ERR_STATE', 'No greeting yet', this.#session.state);
    return g;
  }

  /** The runstate: connecting, negotiating, ready, reconnecting (with `reconnect`), closing, closed. */
  get state(): QmpRunstate {
    return this.#session.state;
  }

  /** True when `oob` was negotiated and `executeOob` may be used. */
  get oobEnabled(): boolean {
    return this.#session.oobEnabled;
  }

  /** Commands accepted and not yet answered. */
  get pendingCount(): number {
    return this.#session.pendingCount;
  }

  /** The schema calls are checked against: with `schema: 'fetch'` or `'auto'`, or the one given. */
  get schema(): QapiSchema | undefined {
    return this.#currentSchema();
  }

  /**
   * Where {@link schema} came from: `{ kind: 'bundled', release }` (`'auto'` found the greeting's
   * release among the bundled ones), `{ kind: 'fetched' }` (read with `query-qmp-schema`), or
   * `{ kind: 'given' }`; `undefined` without a schema.
   */
  get schemaSource(): QmpSchemaSource | undefined {
    return this.#schemaSource;
  }

  /**
   * Resolves once the session is over: with `undefined` after `close()` or a clean end after
   * `quit`, otherwise with the error that ended it. With `reconnect`, a lost connection does not end
   * the client: this resolves on `close()`, after `quit`, or with the last error once `maxAttempts`
   * attempts failed. Never rejects.
   */
  get closed(): Promise<QmpError | undefined> {
    return this.#session.closed;
  }

  /**
   * Registers a handler for a reconnecting client's story: `disconnected`, each `attempt-failed`,
   * `reconnected` (with the new greeting: QEMU may have been restarted as another version) or
   * `gave-up`. Returns a function that removes it. Never called without the `reconnect` option. A
   * handler that throws is reported on the trace channel and does not stop the others.
   */
  onReconnect(handler: (event: QmpReconnectEvent) => void): () => void {
    return this.#reconnecting ? this.#reconnecting.onReconnect(handler) : () => {};
  }

  /** Registers a handler called once when the session ends (see {@link closed}). */
  onClose(handler: (reason: QmpError | undefined) => void): () => void {
    return this.#session.onClose(handler);
  }

  /**
   * Runs a command and resolves to its `return`. Rejects with `QmpCommandError` (QEMU's `class` and
   * `desc` verbatim) on an error reply, `QMP_ERR_TIMEOUT`/`QMP_ERR_ABORTED` per call (the command may
   * still run in QEMU), `QMP_ERR_DISCONNECTED` if the connection drops first (it may or may not have
   * run), `QMP_ERR_VALIDATION` before sending when a schema is loaded and the arguments do not fit,
   * `QMP_ERR_LIMIT` before sending when QEMU could not read the request as one message.
   */
  execute<K extends keyof C & string>(
    name: K & QmpNameCheck<C[K]>,
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
    name: K & QmpNameCheck<C[K]>,
    ...params: QmpExecuteParams<C[K], QmpExecuteOptions>
  ): Promise<QmpReturnsOf<C[K]>> {
    const [args, options] = params as [unknown, QmpExecuteOptions | undefined];
    return this.#command(name, args, true, options) as Promise<QmpReturnsOf<C[K]>>;
  }

  /**
   * Runs a command whose arguments are JSON text already and resolves to the JSON text of its
   * `return` exactly as the server wrote it (on one line: a `pretty=on` server's line breaks are
   * taken out). For pass-through tools: decoding and re-encoding QEMU's reply would not give its
   * bytes back. `argumentsJson` must be exactly one JSON object, else it rejects with
   * `QMP_ERR_USAGE` before anything is sent. No schema checks are made.
   */
  executeText(
    name: string,
    argumentsJson?: string,
    options: QmpExecuteOptions & { oob?: boolean } = {},
  ): Promise<string> {
    const { timeoutMs, signal, oob, fds } = options;
    const request: QmpRequestOptions = {
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      ...(signal ? { signal } : {}),
      ...(oob ? { oob } : {}),
      ...(fds ? { fds } : {}),
    };
    return this.#session.requestText(name, argumentsJson, request);
  }

  /**
   * Passes the open descriptor `fd` to QEMU into an fd set (`add-fd`), for `/dev/fdset/N` file names
   * (`blockdev-add`, ...). Resolves to QEMU's answer: the set's id and the descriptor's number in
   * QEMU. Needs a unix socket and the native addon (`QMP_ERR_FD_UNAVAILABLE` otherwise). QEMU holds
   * its own copy: close `fd` whenever you like. See `docs/fd-passing.md`.
   */
  async addFd(fd: number, options: QmpAddFdOptions = {}): Promise<QmpAddedFd> {
    const { fdset, opaque, ...call } = options;
    const args: JsonObject = {};
    if (fdset !== undefined) args['fdset-id'] = fdset;
    if (opaque !== undefined) args['opaque'] = opaque;
    return (await this.#command('add-fd', args, false, { ...call, fds: [fd] })) as unknown as QmpAddedFd;
  }

  /**
   * Removes an fd set that {@link addFd} filled (`remove-fd`), or one descriptor of it with `fd`.
   * QEMU closes the descriptors once nothing uses them any more.
   */
  async closeFdset(fdsetId: number, options: QmpCloseFdsetOptions = {}): Promise<void> {
    const { fd, ...call } = options;
    const args: JsonObject = fd === undefined ? { 'fdset-id': fdsetId } : { 'fdset-id': fdsetId, fd };
    await this.#command('remove-fd', args, false, call);
  }

  #command(name: string, args: unknown, oob: boolean, options: QmpExecuteOptions = {}): Promise<JsonValue> {
    if (args !== undefined && args !== null && !isJsonObject(args)) {
      return markRejected(new QmpUsageError(`execute ${name}: arguments must be an object`));
    }
    const invalid = this.#validate(name, args ?? {});
    if (invalid) return markRejected(invalid);
    return this.#session.request(name, (args ?? undefined) as JsonObject | undefined, { ...options, oob });
  }

  /** Checks against the schema, when loaded; warns once per deprecated or unstable use. */
  #validate(name: string, args: JsonObject): QmpValidationError | undefined {
    const schema = this.#session.state === 'ready' ? this.#currentSchema() : undefined;
    if (schema === undefined) return undefined;
    if (!schema.command(name)) {
      return new QmpValidationError(
        `${name}: the connected QEMU has no such command (checked against its live schema)`,
        'execute',
      );
    }
    const issue = schema.validateArguments(name, args);
    if (issue) return new QmpValidationError(`${name}: ${issue.message}`, issue.path);
    return this.#warnings.check(schema, this.#schemaSource ?? { kind: 'given' }, name, args);
  }

  /**
   * Adds an event handler. `name` is an event name or `'*'` for every event. The handler's second
   * argument is the event's JSON text as the server wrote it (for pass-through tools). Returns a
   * function that removes it. A handler that throws does not stop delivery to the others; what it
   * threw goes to the `onListenerError` option (default: a `QMPKIT_LISTENER_ERROR` process warning).
   */
  on<K extends keyof E & string>(name: K | '*', handler: (event: QmpEventOf<E, K>, text: string) => void): () => void {
    const h = handler as (e: QmpEvent<unknown>, text: string) => void;
    this.#session.events.on(name, h);
    return () => this.#session.events.off(name, h);
  }

  /** Removes a handler added with {@link on}. */
  off<K extends keyof E & string>(name: K | '*', handler: (event: QmpEventOf<E, K>, text: string) => void): void {
    this.#session.events.off(name, handler as (e: QmpEvent<unknown>, text: string) => void);
  }

  /**
   * Iterates events as they arrive, with a bounded buffer (oldest dropped and counted in `dropped`).
   * Ends when the session ends, `signal` aborts, or the loop breaks. It never rejects.
   */
  events<K extends keyof E & string>(
    options: QmpEventsOptions<K, EventData<E, K>, QmpEventOf<E, K>> = {},
  ): QmpEventIterator<QmpEventOf<E, K>> {
    return this.#session.events.iterate(
      options as unknown as QmpEventsOptions<string, unknown>,
    ) as unknown as QmpEventIterator<QmpEventOf<E, K>>;
  }

  /**
   * Resolves with the next event `name` whose data matches `match` (a partial object or a
   * predicate). Arm it before the command that causes the event: QEMU may send the event before the
   * command's reply. Rejects with `QMP_ERR_TIMEOUT`, `QMP_ERR_ABORTED`, or the error that ended the
   * session; a wait nobody awaits any more never becomes an unhandled rejection.
   */
  waitForEvent<K extends keyof E & string>(
    name: K,
    options: QmpWaitOptions<EventData<E, K>, QmpEventOf<E, K>> = {},
  ): Promise<QmpEventOf<E, K>> {
    return this.#session.events.wait(name, options as unknown as QmpWaitOptions<unknown>) as Promise<QmpEventOf<E, K>>;
  }

  /**
   * Answers feature questions from the schema (needs `schema: 'fetch'` or `'auto'`): does the command
   * exist, does it have this member (`'arguments.driver'`), does that enum member accept `value`.
   */
  supports(command: string, memberPath?: string, value?: string): boolean {
    const schema = this.#currentSchema();
    if (!schema) {
      throw new QmpStateError(
        'QMP_ERR_STATE',
        "supports() needs a schema: connect with { schema: 'auto' } or { schema: 'fetch' }",
        this.#session.state,
      );
    }
    return schema.supports(command, memberPath, value);
  }

  /**
   * Closes the session: pending calls reject with `QMP_ERR_CLOSED`, iterators end, the socket is
   * ended (and destroyed after `closeTimeoutMs` if the server does not close). Idempotent.
   */
  close(): Promise<void> {
    return this.#session.close();
  }
}

/** A rejected promise already marked handled (the caller's await still sees the rejection). */
function markRejected(err: Error): Promise<never> {
  const p = Promise.reject(err);
  p.catch(() => {});
  return p;
}
