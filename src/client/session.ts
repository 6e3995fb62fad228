import type { Duplex } from 'node:stream';
import { QmpConnectionError, QmpError, QmpProtocolError, QmpStateError, QmpTimeoutError } from '../errors/qmp-error.js';
import {
  CLIENT_CLOSE_TIMEOUT_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  MAX_FDS_PER_REQUEST,
  MAX_PENDING_COMMANDS,
  MAX_QUEUED_REQUESTS,
} from '../limits.js';
import type { QmpGreeting } from '../protocol/messages.js';
import { traceOut } from '../trace/trace.js';
import type { QmpAddress } from '../transport/address.js';
import { connectTransport, type QmpTransport } from '../transport/connect.js';
import type { JsonObject, JsonValue } from '../wire/json-value.js';
import { endedCallError } from './call-outcome.js';
import { CloseHandlers } from './close-handlers.js';
import { Deadline } from './deadline.js';
import { EventHub } from './event-hub.js';
import { listenerErrorReporter } from './listener-errors.js';
import { markHandled } from './mark-handled.js';
import type { QmpRequestOptions, QmpSessionOptions } from './options.js';
import { OutgoingQueue } from './outgoing-queue.js';
import { ReplyReader } from './reply-reader.js';
import { checkArgumentsText, encodeRequest, type RequestLine, type RequestSpec } from './request-encoder.js';
import { RequestFds } from './request-fds.js';
import { checkRequestLimits } from './request-limits.js';
import { pendingLimitError, refusal } from './request-refusal.js';
import { type PendingCall, RequestTracker } from './request-tracker.js';
import { type QmpRunstate, Runstate } from './runstate.js';
import { disconnectedError, greetingTimeoutError } from './session-errors.js';

/**
 * One QMP session over one transport, untyped: the greeting, negotiation, the runstate, the request
 * path (through a {@link RequestTracker}) and the reply path, and the end of the session, all in one
 * place. `QmpClient` is the typed facade over it; a pass-through tool (the proxy) uses it directly
 * for {@link requestText}. A session never outlives its transport: a new connection is a new session.
 */
export class QmpSession {
  readonly label: string;
  /** Event handlers, iterators and waiters of this session. */
  readonly events: EventHub;
  readonly #stream: Duplex;
  readonly #reader: ReplyReader;
  readonly #tracker = new RequestTracker();
  readonly #runstate = new Runstate();
  readonly #maxPending: number;
  readonly #maxQueuedRequests: number;
  readonly #commandTimeoutMs: number | undefined;
  readonly #idlessInBand: boolean;
  readonly #closeTimeoutMs: number;
  readonly #fds: RequestFds;
  readonly #closeHandlers = new CloseHandlers(() => this.label);
  #greeting: QmpGreeting | undefined;
  #greetingWaiter: { resolve: (g: QmpGreeting) => void; reject: (e: Error) => void } | undefined;
  #oob = false;
  readonly #out: OutgoingQueue;
  /** True when the hub was handed in: its owner (a reconnecting client) ends it, not this session. */
  readonly #sharedHub: boolean;
  #closeReason: QmpError | undefined;
  readonly #closed: Promise<QmpError | undefined>;
  #resolveClosed!: (reason: QmpError | undefined) => void;

  /**
   * @param hub Event hub to deliver to, owned by the caller and kept open when this session ends
   *   (a reconnecting client keeps its handlers, iterators and waiters across sessions).
   */
  constructor(transport: QmpTransport, options: QmpSessionOptions = {}, hub?: EventHub) {
    this.#stream = transport.stream;
    this.#fds = new RequestFds(transport.stream, options.maxFdsPerRequest ?? MAX_FDS_PER_REQUEST);
    this.#out = new OutgoingQueue(transport.stream, { sender: () => this.#fds.sender(), failed: (e) => this.#lost(e) });
    this.label = options.label ?? transport.label;
    this.#sharedHub = hub !== undefined;
    this.events = hub ?? new EventHub(listenerErrorReporter(this.label, options.onListenerError));
    this.#reader = new ReplyReader(this.label, this.#tracker, this.events, options, {
      greeting: (g) => {
        this.#greeting = g;
        this.#greetingWaiter?.resolve(g);
        this.#greetingWaiter = undefined;
      },
      write: (calls) => this.#out.push(calls),
      fail: (err) => this.#fail(err),
      ended: () => this.#runstate.state === 'closed' || this.#runstate.state === 'closing',
    });
    this.#maxPending = options.maxPendingCommands ?? MAX_PENDING_COMMANDS;
    this.#maxQueuedRequests = options.maxQueuedRequests ?? MAX_QUEUED_REQUESTS;
    this.#commandTimeoutMs = options.commandTimeoutMs;
    this.#idlessInBand = options.idlessInBand === true;
    this.#closeTimeoutMs = options.closeTimeoutMs ?? CLIENT_CLOSE_TIMEOUT_MS;
    this.#closed = new Promise((r) => {
      this.#resolveClosed = r;
    });
    transport.outstanding?.watchOutstanding(() => this.#tracker.outstanding);
    const stream = this.#stream;
    stream.on('data', (chunk: Buffer | string) =>
      this.#reader.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk, this.#greeting === undefined),
    );
    stream.on('end', () => this.#lost(undefined));
    stream.on('close', () => this.#lost(undefined));
    stream.on('error', (err: NodeJS.ErrnoException) => this.#lost(err));
    // The session is the stream's only reader: a socket handed over paused (an accepted connection)
    // must flow, or the greeting is never read.
    stream.resume();
  }

  /**
   * Connects (see `QmpClient.connect` for the address forms), reads the greeting and negotiates,
   * all within `timeoutMs`. On failure the transport is closed and nothing is left behind.
   */
  static async connect(
    target: string | QmpAddress | Duplex,
    options: QmpSessionOptions = {},
    step?: (session: QmpSession, remaining: () => number) => Promise<void>,
  ): Promise<QmpSession> {
    const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
    const remaining = (): number => Math.max(1, deadline - Date.now());
    const transport = await connectTransport(target, {
      timeoutMs: remaining(),
      signal: options.signal,
      tls: options.tls,
    });
    const session = new QmpSession(transport, options);
    await session.establish(options, remaining, step && (() => step(session, remaining)));
    return session;
  }

  /**
   * Runs `step` (the greeting and negotiation, or more); if it fails, the session ends with its error
   * and the transport is destroyed before the error is rethrown.
   */
  async establish(options: QmpSessionOptions, remaining: () => number, step?: () => Promise<void>): Promise<void> {
    try {
      if (this.#greeting === undefined) await this.#handshake(options, remaining);
      await step?.();
    } catch (err) {
      this.#fail(err instanceof QmpError ? err : new QmpProtocolError(String(err), { cause: err }));
      throw err;
    }
  }

  /** The server's greeting, once read. */
  get greeting(): QmpGreeting | undefined {
    return this.#greeting;
  }

  get state(): QmpRunstate {
    return this.#runstate.state;
  }

  get oobEnabled(): boolean {
    return this.#oob;
  }

  /** Commands accepted and not yet answered. */
  get pendingCount(): number {
    return this.#tracker.size;
  }

  /** Resolves once the session is over (see `QmpClient.closed`). Never rejects. */
  get closed(): Promise<QmpError | undefined> {
    return this.#closed;
  }

  /** Registers a handler called once when the session ends; returns a function that removes it. */
  onClose(handler: (reason: QmpError | undefined) => void): () => void {
    return this.#closeHandlers.add(handler);
  }

  /** Sends a command (`args` a JSON object or undefined) and resolves to its decoded `return`. */
  request(name: string, args: JsonObject | undefined, options: QmpRequestOptions = {}): Promise<JsonValue> {
    const spec = { name, args, argsText: undefined, oob: options.oob === true, returnText: false };
    return markHandled(this.#refuse(name, spec.oob) ?? this.#send(spec, options));
  }

  /**
   * Sends a command whose arguments are JSON text already and resolves to the JSON text of its
   * `return` exactly as the server wrote it (on one line). The text must be exactly one JSON object
   * (whitespace around it aside): anything else rejects with `QMP_ERR_USAGE` before a byte is sent.
   * `options.onReply` runs synchronously when the reply is read, before any later message is handled.
   */
  requestText(name: string, argumentsJson: string | undefined, options: QmpRequestOptions = {}): Promise<string> {
    const oob = options.oob === true;
    const refused = this.#refuse(name, oob, true) ?? checkArgumentsText(name, argumentsJson);
    const spec = { name, args: undefined, argsText: argumentsJson?.trim(), oob, returnText: true };
    return markHandled(refused ?? this.#send(spec, options)) as Promise<string>;
  }

  /**
   * {@link requestText} for arguments this library encoded itself (`encodeQValue`, `encodeJson`):
   * they are known to be exactly one JSON object, so they are not decoded again to check it, which
   * for a large request would cost its size once more. Still checked against QEMU's input limits.
   * Given as bytes (`encodeQValueBytes`), they are written as they are, beside the envelope: a
   * large request is not copied into one line (an error reply's `arguments` is then those bytes).
   */
  requestEncoded(
    name: string,
    argumentsJson: string | Uint8Array | undefined,
    options: QmpRequestOptions = {},
  ): Promise<string> {
    const oob = options.oob === true;
    const spec = { name, args: undefined, argsText: argumentsJson, oob, returnText: true };
    return markHandled(this.#refuse(name, oob, true) ?? this.#send(spec, options)) as Promise<string>;
  }

  /**
   * Closes the session: pending calls reject with `QMP_ERR_CLOSED`, iterators end, the transport is
   * ended and destroyed once flushed, or after `closeTimeoutMs` if the peer never closes. Idempotent.
   */
  async close(): Promise<void> {
    const state = this.#runstate.state;
    if (state !== 'closed' && state !== 'closing') {
      this.#runstate.to('closing');
      this.#out.flush();
      this.#shutdown(undefined, new QmpStateError('QMP_ERR_CLOSED', 'The client was closed', 'closing'));
      const stream = this.#stream;
      if (!stream.destroyed) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => stream.destroy(), this.#closeTimeoutMs);
          stream.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          // Once our last bytes are out nothing more is wanted from the peer.
          stream.once('finish', () => stream.destroy());
          stream.end();
        });
      }
    }
    await this.#closed;
  }

  async #handshake(options: QmpSessionOptions, remaining: () => number): Promise<void> {
    // The message names the caller's timeout, not what was left of it when the greeting wait began.
    const total = options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const greeting = await new Promise<QmpGreeting>((resolve, reject) => {
      const deadline = new Deadline(`connecting to ${this.label}`, remaining(), options.signal, (err) =>
        reject(err instanceof QmpTimeoutError ? greetingTimeoutError(this.label, total) : err),
      );
      this.#greetingWaiter = {
        resolve: (g) => {
          deadline.clear();
          resolve(g);
        },
        reject: (e) => {
          deadline.clear();
          reject(e);
        },
      };
      if (this.#closeReason !== undefined || this.#runstate.state === 'closed')
        this.#greetingWaiter.reject(this.#closeReason ?? this.#disconnected());
    });
    if (options.negotiate === false) {
      this.#runstate.to('ready');
      return;
    }
    this.#runstate.to('negotiating');
    const enable = options.oob !== false && greeting.QMP.capabilities.includes('oob') ? ['oob'] : [];
    const spec = {
      name: 'qmp_capabilities',
      args: enable.length > 0 ? { enable } : undefined,
      argsText: undefined,
      oob: false,
      returnText: false,
    };
    try {
      await this.#send(spec, { timeoutMs: remaining(), ...(options.signal ? { signal: options.signal } : {}) });
    } catch (err) {
      if (!(err instanceof QmpTimeoutError)) throw err;
      throw new QmpTimeoutError(`Capabilities negotiation with ${this.label} timed out`, err.timeoutMs, {
        code: 'QMP_ERR_CONNECT_TIMEOUT',
      });
    }
    this.#oob = enable.length > 0;
    // With OOB on, QEMU stops reading once its in-band queue is full, which would hold back exec-oob.
    if (this.#oob) this.#tracker.setWindow(this.#maxQueuedRequests);
    this.#runstate.to('ready');
  }

  /** Why a command cannot be sent now (a rejected promise), or undefined. */
  #refuse(name: string, oob: boolean, anyName = false): Promise<never> | undefined {
    const ctx = {
      state: this.#runstate.state,
      closeReason: this.#closeReason,
      oobEnabled: this.#oob,
      label: this.label,
    };
    const err = refusal(ctx, name, oob, anyName);
    return err === undefined ? undefined : Promise.reject(err);
  }

  /** The send path: limits, an id, the encoded line checked against QEMU's input limits, the tracker. */
  #send(spec: RequestSpec, options: QmpRequestOptions): Promise<JsonValue> {
    const fds = options.fds !== undefined && options.fds.length > 0 ? [...options.fds] : undefined;
    const badFds = this.#fds.check(spec.name, fds);
    if (badFds !== undefined) return Promise.reject(badFds);
    if (this.#tracker.occupied >= this.#maxPending)
      return Promise.reject(pendingLimitError(spec.name, this.#maxPending));
    const id = this.#tracker.takeId();
    // exec-oob needs an id (QEMU refuses one without); in-band, one call at a time may go without
    // (option idlessInBand).
    const idless = this.#idlessInBand && !spec.oob && !this.#tracker.idlessOut;
    let line: RequestLine;
    try {
      line = encodeRequest(spec, idless ? undefined : id);
    } catch (err) {
      this.#tracker.release(id);
      return Promise.reject(err);
    }
    const tooBig = checkRequestLimits(spec.name, line);
    if (tooBig !== undefined) {
      this.#tracker.release(id);
      return Promise.reject(tooBig);
    }
    return new Promise<JsonValue>((resolve, reject) => {
      const call: PendingCall = {
        id,
        command: spec.name,
        args: spec.args ?? spec.argsText,
        oob: spec.oob,
        idless,
        line,
        fds,
        returnText: spec.returnText,
        onReply: options.onReply,
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
        let firedNow = false;
        call.deadline = new Deadline(spec.name, timeoutMs, options.signal, (err) => {
          firedNow = true;
          this.#tracker.abandon(call);
          call.reject(err);
        });
        if (firedNow) {
          this.#tracker.release(id);
          return;
        }
      }
      const traced: Record<string, unknown> = { [spec.oob ? 'exec-oob' : 'execute']: spec.name };
      if (spec.args !== undefined) traced['arguments'] = spec.args;
      if (!idless) traced['id'] = id;
      traceOut('client', this.label, traced);
      this.#out.push(this.#tracker.add(call));
    });
  }

  /** A fatal problem: fail everything with `err` and drop the connection. */
  #fail(err: QmpError): void {
    this.#shutdown(err);
    this.#stream.destroy();
  }

  /** The connection ended or failed. */
  #lost(err: NodeJS.ErrnoException | undefined): void {
    const state = this.#runstate.state;
    if (state === 'closed') return;
    if (state === 'closing') {
      this.#shutdown(undefined);
      return;
    }
    // After `quit`, QEMU closes the socket (often with ECONNRESET, the request's newline unread):
    // that is success, not a failure.
    this.#shutdown(this.#out.quitSent ? undefined : this.#disconnected(err));
    this.#stream.destroy();
  }

  #disconnected(err?: NodeJS.ErrnoException): QmpConnectionError {
    return disconnectedError(this.label, err);
  }

  /** Settles everything, once; `reason` undefined = a normal end. */
  #shutdown(reason: QmpError | undefined, pendingError?: QmpError): void {
    if (this.#runstate.state === 'closed') return;
    this.#runstate.to('closed');
    this.#closeReason = reason;
    const base = pendingError ?? reason;
    this.#greetingWaiter?.reject(
      base ?? new QmpConnectionError('QMP_ERR_DISCONNECTED', `${this.label} closed before greeting`),
    );
    this.#greetingWaiter = undefined;
    for (const call of this.#tracker.drain()) {
      if (call.command === 'quit' && call.written && base === undefined) call.resolve({});
      else call.reject(endedCallError(call, base, this.label));
    }
    if (!this.#sharedHub)
      this.events.end(base ?? new QmpConnectionError('QMP_ERR_DISCONNECTED', `The session with ${this.label} ended`));
    this.#closeHandlers.fire(reason);
    this.#resolveClosed(reason);
  }
}
