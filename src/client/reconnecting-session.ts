import { QmpConnectionError, QmpError, QmpLimitError, QmpStateError } from '../errors/qmp-error.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, MAX_PENDING_COMMANDS } from '../limits.js';
import type { QmpGreeting } from '../protocol/messages.js';
import { traceAnomaly } from '../trace/trace.js';
import type { QmpAddress } from '../transport/address.js';
import { connectTransport } from '../transport/connect.js';
import type { JsonObject, JsonValue } from '../wire/json-value.js';
import { endedCallError } from './call-outcome.js';
import { CloseHandlers } from './close-handlers.js';
import { Deadline } from './deadline.js';
import { EventHub } from './event-hub.js';
import { listenerErrorReporter } from './listener-errors.js';
import { markHandled } from './mark-handled.js';
import type { QmpRequestOptions, QmpSessionOptions } from './options.js';
import type { QmpReconnectEvent, ReconnectPolicy } from './reconnect-policy.js';
import { refusal } from './request-refusal.js';
import { type QmpRunstate, Runstate } from './runstate.js';
import { QmpSession } from './session.js';
import type { SessionLink } from './session-link.js';

/** A command issued while reconnecting: it was never written, so it waits for the next session. */
interface WaitingCall {
  readonly command: string;
  readonly written: false;
  readonly started: number;
  readonly options: QmpRequestOptions;
  readonly timeoutMs: number | undefined;
  readonly run: (session: QmpSession, options: QmpRequestOptions) => Promise<unknown>;
  readonly deadline: Deadline;
  resolve(value: unknown): void;
  reject(err: Error): void;
}

/** Runs after each session's negotiation, before it is used (the client refetches its schema). */
export type SessionPrepare = (session: QmpSession) => Promise<void>;

/**
 * A client's sessions over time, for `connect(..., { reconnect })`. When a session ends with an
 * error it dials again with backoff, reads the new greeting and negotiates; one event hub outlives
 * the sessions, so handlers, iterators and waiters stay subscribed. Commands written to a lost
 * session fail there ("may or may not have run") and are never replayed; commands issued while
 * reconnecting wait for the next session, each within its own deadline.
 */
export class ReconnectingSession implements SessionLink {
  readonly events: EventHub;
  readonly #target: string | QmpAddress;
  readonly #options: QmpSessionOptions;
  readonly #policy: ReconnectPolicy;
  readonly #prepare: SessionPrepare;
  readonly #runstate = new Runstate();
  readonly #waiting: WaitingCall[] = [];
  readonly #closeHandlers = new CloseHandlers(() => this.#session.label);
  readonly #reconnectHandlers = new Set<(event: QmpReconnectEvent) => void>();
  readonly #closed: Promise<QmpError | undefined>;
  #resolveClosed!: (reason: QmpError | undefined) => void;
  #session!: QmpSession;
  #closeReason: QmpError | undefined;
  #timer: NodeJS.Timeout | undefined;
  #attempt: AbortController | undefined;
  #attemptSession: QmpSession | undefined;

  private constructor(
    target: string | QmpAddress,
    options: QmpSessionOptions,
    policy: ReconnectPolicy,
    prepare: SessionPrepare,
  ) {
    this.#target = target;
    this.#options = options;
    this.#policy = policy;
    this.#prepare = prepare;
    const label = options.label ?? (typeof target === 'string' ? target : target.kind);
    this.events = new EventHub(listenerErrorReporter(label, options.onListenerError));
    this.#closed = new Promise((r) => {
      this.#resolveClosed = r;
    });
  }

  /** Connects the first session; a failure here rejects (there is nothing to reconnect yet). */
  static async connect(
    target: string | QmpAddress,
    options: QmpSessionOptions,
    policy: ReconnectPolicy,
    prepare: SessionPrepare,
  ): Promise<ReconnectingSession> {
    const link = new ReconnectingSession(target, options, policy, prepare);
    link.#adopt(await link.#open(options));
    return link;
  }

  async #open(options: QmpSessionOptions): Promise<QmpSession> {
    const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
    const remaining = (): number => Math.max(1, deadline - Date.now());
    const transport = await connectTransport(this.#target, {
      timeoutMs: remaining(),
      signal: options.signal,
      tls: options.tls,
    });
    const session = new QmpSession(transport, options, this.events);
    this.#attemptSession = session;
    try {
      await session.establish(options, remaining, () => this.#prepare(session));
    } finally {
      this.#attemptSession = undefined;
    }
    return session;
  }

  #adopt(session: QmpSession): void {
    this.#session = session;
    this.#runstate.to('ready');
    // Called synchronously as the session ends, so no command slips into a dead session meanwhile.
    session.onClose((reason) => this.#sessionEnded(session, reason));
    for (const w of this.#waiting.splice(0)) {
      w.deadline.clear();
      const options: QmpRequestOptions = { ...w.options };
      if (w.timeoutMs !== undefined) options.timeoutMs = Math.max(1, w.timeoutMs - (Date.now() - w.started));
      w.run(session, options).then(w.resolve, w.reject);
    }
  }

  #sessionEnded(session: QmpSession, reason: QmpError | undefined): void {
    if (session !== this.#session || this.#runstate.state !== 'ready') return;
    // A clean end (after `quit`) is what the user asked for: no reconnect.
    if (reason === undefined) {
      this.#finish(undefined);
      return;
    }
    this.#runstate.to('reconnecting');
    this.events.gap();
    this.#tell({ type: 'disconnected', error: reason });
    this.#schedule(1, reason);
  }

  #schedule(attempt: number, last: QmpError): void {
    const delay = this.#policy.delayBefore(attempt);
    if (delay === undefined) {
      this.#tell({ type: 'gave-up', attempts: attempt - 1, error: last });
      this.#finish(last);
      return;
    }
    this.#timer = setTimeout(() => void this.#try(attempt), delay);
  }

  async #try(attempt: number): Promise<void> {
    this.#timer = undefined;
    const ac = new AbortController();
    this.#attempt = ac;
    let session: QmpSession;
    try {
      const { signal: _userSignal, ...options } = this.#options;
      session = await this.#open({ ...options, signal: ac.signal });
    } catch (err) {
      if (this.#runstate.state !== 'reconnecting') return;
      const error = err instanceof QmpError ? err : new QmpConnectionError('QMP_ERR_CONNECT', String(err));
      this.#tell({ type: 'attempt-failed', attempt, error, nextDelayMs: this.#policy.delayBefore(attempt + 1) });
      if (this.#runstate.state === 'reconnecting') this.#schedule(attempt + 1, error);
      return;
    } finally {
      this.#attempt = undefined;
    }
    if (this.#runstate.state !== 'reconnecting') {
      void session.close();
      return;
    }
    this.#tell({ type: 'reconnected', attempt, greeting: session.greeting as QmpGreeting });
    if (this.#runstate.state === 'reconnecting') this.#adopt(session);
    else void session.close();
  }

  #tell(event: QmpReconnectEvent): void {
    for (const h of [...this.#reconnectHandlers]) {
      try {
        h(event);
      } catch (err) {
        traceAnomaly('client', this.#session.label, `reconnect handler threw: ${String(err)}`, err);
      }
    }
  }

  /** Registers a handler for the reconnect story (see {@link QmpReconnectEvent}); returns its remover. */
  onReconnect(handler: (event: QmpReconnectEvent) => void): () => void {
    this.#reconnectHandlers.add(handler);
    return () => this.#reconnectHandlers.delete(handler);
  }

  get greeting(): QmpGreeting | undefined {
    return this.#session.greeting;
  }

  get state(): QmpRunstate {
    return this.#runstate.state;
  }

  get oobEnabled(): boolean {
    return this.#session.oobEnabled;
  }

  get pendingCount(): number {
    return this.#session.pendingCount + this.#waiting.length;
  }

  get closed(): Promise<QmpError | undefined> {
    return this.#closed;
  }

  onClose(handler: (reason: QmpError | undefined) => void): () => void {
    return this.#closeHandlers.add(handler);
  }

  request(name: string, args: JsonObject | undefined, options: QmpRequestOptions = {}): Promise<JsonValue> {
    return this.#route(name, options, false, (s, o) => s.request(name, args, o)) as Promise<JsonValue>;
  }

  requestText(name: string, argumentsJson: string | undefined, options: QmpRequestOptions = {}): Promise<string> {
    return this.#route(name, options, true, (s, o) => s.requestText(name, argumentsJson, o)) as Promise<string>;
  }

  #route(
    name: string,
    options: QmpRequestOptions,
    anyName: boolean,
    run: (session: QmpSession, options: QmpRequestOptions) => Promise<unknown>,
  ): Promise<unknown> {
    const state = this.#runstate.state;
    if (state === 'ready') return run(this.#session, options);
    if (state !== 'reconnecting') {
      const ctx = { state, closeReason: this.#closeReason, oobEnabled: false, label: this.#session.label };
      return markHandled(Promise.reject(refusal(ctx, name, false, anyName)));
    }
    const max = this.#options.maxPendingCommands ?? MAX_PENDING_COMMANDS;
    const bad =
      refusal(
        { state: 'ready', closeReason: undefined, oobEnabled: true, label: this.#session.label },
        name,
        false,
        anyName,
      ) ??
      (this.#waiting.length >= max
        ? new QmpLimitError(
            `Cannot execute ${name}: ${max} commands are already waiting for the reconnect (raise the maxPendingCommands option)`,
            'maxPendingCommands',
            max,
          )
        : undefined);
    if (bad) return markHandled(Promise.reject(bad));
    return markHandled(
      new Promise<unknown>((resolve, reject) => {
        const timeoutMs = options.timeoutMs ?? this.#options.commandTimeoutMs;
        const w: WaitingCall = {
          command: name,
          written: false,
          started: Date.now(),
          options,
          timeoutMs,
          run,
          resolve,
          reject,
          deadline: new Deadline(name, timeoutMs, options.signal, (err) => {
            const i = this.#waiting.indexOf(w);
            if (i >= 0) this.#waiting.splice(i, 1);
            reject(err);
          }),
        };
        if (!options.signal?.aborted) this.#waiting.push(w);
      }),
    );
  }

  /**
   * Closes the client: during a reconnect the backoff and any attempt stop at once and waiting
   * commands reject with `QMP_ERR_CLOSED`; otherwise the session closes as usual. Idempotent.
   */
  async close(): Promise<void> {
    const state = this.#runstate.state;
    if (state === 'ready') {
      this.#runstate.to('closing');
      await this.#session.close();
      this.#finish(undefined);
    } else if (state === 'reconnecting') {
      this.#runstate.to('closing');
      clearTimeout(this.#timer);
      this.#attempt?.abort();
      const pending = this.#attemptSession;
      this.#finish(undefined);
      await pending?.close();
    }
    await this.#closed;
  }

  /** The client is over: waiting commands fail, iterators end, waiters reject, handlers are told. */
  #finish(reason: QmpError | undefined): void {
    if (this.#runstate.state === 'closed') return;
    this.#runstate.to('closed');
    this.#closeReason = reason;
    const label = this.#session.label;
    const base = reason ?? new QmpStateError('QMP_ERR_CLOSED', 'The client was closed', 'closing');
    for (const w of this.#waiting.splice(0)) {
      w.deadline.clear();
      w.reject(endedCallError(w, base, label));
    }
    this.events.end(base);
    this.#closeHandlers.fire(reason);
    this.#resolveClosed(reason);
  }
}
