import type { Duplex } from 'node:stream';
import { QmpStateError, QmpTimeoutError, QmpUsageError } from '../errors/qmp-error.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, MAX_QUEUED_CONNECTIONS } from '../limits.js';
import { traceAnomaly } from '../trace/trace.js';
import { formatAddress, parseAddress, type QmpAddress } from '../transport/address.js';
import { listenTransport, type QmpListenTransport } from '../transport/listen.js';
import { Deadline } from './deadline.js';
import { markHandled } from './mark-handled.js';

/** Options of `QmpClient.listen`, besides the options every accepted client gets. */
export interface QmpListenerOptions {
  /**
   * Connections kept waiting while no `accept()` is waiting (default `MAX_QUEUED_CONNECTIONS`, 4);
   * one more is closed at once.
   */
  maxQueuedConnections?: number;
}

/** Options of one `accept()`: they override the listener's client options for this client. */
export interface QmpAcceptOptions {
  /**
   * Deadline for a peer to connect, greet and negotiate, in ms (default: the listener's `timeoutMs`,
   * else `DEFAULT_CONNECT_TIMEOUT_MS`, 10 s). `Infinity` waits for ever.
   */
  timeoutMs?: number;
  /** Cancels this accept (`QMP_ERR_ABORTED`); a connection it took is closed. */
  signal?: AbortSignal;
  /** Called when a peer connected, before its greeting is read. */
  onPeer?: () => void;
}

/** Turns an accepted stream into a client: the greeting and negotiation, as `connect` does. */
export type QmpAcceptStep<T> = (stream: Duplex, timeoutMs: number, signal: AbortSignal | undefined) => Promise<T>;

interface AcceptWaiter {
  take(stream: Duplex): void;
  fail(err: Error): void;
}

/**
 * Accept mode: QEMU started with `-qmp unix:PATH` or `-qmp tcp:HOST:PORT` (no `server=on`) dials in,
 * and each `accept()` takes one connection and makes a client of it. Connections that arrive while
 * no `accept()` waits are kept, in order, up to `maxQueuedConnections`; further ones are closed at
 * once. Created by `QmpClient.listen`.
 */
export class QmpListener<T> {
  readonly #transport: QmpListenTransport;
  readonly #step: QmpAcceptStep<T>;
  readonly #defaultTimeoutMs: number;
  readonly #maxQueued: number;
  readonly #queued: Duplex[] = [];
  readonly #waiters: AcceptWaiter[] = [];
  #closed = false;

  private constructor(transport: QmpListenTransport, step: QmpAcceptStep<T>, timeoutMs: number, maxQueued: number) {
    this.#transport = transport;
    this.#step = step;
    this.#defaultTimeoutMs = timeoutMs;
    this.#maxQueued = maxQueued;
  }

  /**
   * Listens on `address`: a socket path, `unix:PATH`, `tcp:HOST:PORT` (QEMU's spelling; `,server=on`
   * and the like are ignored), `fd:N` (an inherited listening socket) or a parsed address. A unix
   * socket is created with mode 0600 and removed by `close()`.
   */
  static async listen<T>(
    address: string | QmpAddress,
    step: QmpAcceptStep<T>,
    options: QmpListenerOptions & { timeoutMs?: number } = {},
  ): Promise<QmpListener<T>> {
    const addr = typeof address === 'string' ? parseAddress(address) : address;
    if (addr.kind === 'stdio') throw new QmpUsageError('QmpClient.listen: give a unix or tcp address, not stdio');
    const maxQueued = options.maxQueuedConnections ?? MAX_QUEUED_CONNECTIONS;
    if (!(maxQueued >= 0)) throw new QmpUsageError(`maxQueuedConnections must be 0 or more (got ${maxQueued})`);
    let self: QmpListener<T> | undefined;
    const early: Duplex[] = [];
    const transport = await listenTransport(addr, {
      onConnection: (stream) => (self ? self.#arrived(stream) : early.push(stream)),
    });
    self = new QmpListener(transport, step, options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, maxQueued);
    for (const s of early) self.#arrived(s);
    return self;
  }

  /** The address actually bound (a TCP port of 0 replaced by the real one). */
  get address(): QmpAddress {
    return this.#transport.address;
  }

  /** Connections waiting for an `accept()`. */
  get queued(): number {
    return this.#queued.length;
  }

  /**
   * Waits for the next connection and resolves with a client once the peer greeted and capabilities
   * are negotiated. Rejects with `QMP_ERR_CONNECT_TIMEOUT` (nobody connected, or the peer did not
   * greet, in time), `QMP_ERR_ABORTED`, or `QMP_ERR_CLOSED` once the listener is closed. Several
   * accepts may wait at once: connections go to them in order.
   */
  accept(options: QmpAcceptOptions = {}): Promise<T> {
    return markHandled(this.#accept(options));
  }

  async #accept(options: QmpAcceptOptions): Promise<T> {
    const timeoutMs = options.timeoutMs ?? this.#defaultTimeoutMs;
    const started = Date.now();
    const stream = await this.#next(timeoutMs, options.signal);
    options.onPeer?.();
    const left = Math.max(1, timeoutMs - (Date.now() - started));
    return this.#step(stream, left, options.signal);
  }

  #next(timeoutMs: number, signal: AbortSignal | undefined): Promise<Duplex> {
    if (this.#closed) return Promise.reject(this.#closedError());
    return new Promise<Duplex>((resolve, reject) => {
      const waiter: AcceptWaiter = {
        take: (stream) => {
          deadline.clear();
          resolve(stream);
        },
        fail: (err) => {
          deadline.clear();
          reject(err);
        },
      };
      const where = formatAddress(this.#transport.address);
      const deadline = new Deadline(`accepting on ${where}`, timeoutMs, signal, (err) => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(
          err instanceof QmpTimeoutError
            ? new QmpTimeoutError(`Nobody connected to ${where} within ${timeoutMs} ms`, timeoutMs, {
                code: 'QMP_ERR_CONNECT_TIMEOUT',
              })
            : err,
        );
      });
      if (signal?.aborted) return;
      const stream = this.#queued.shift();
      if (stream !== undefined) waiter.take(stream);
      else this.#waiters.push(waiter);
    });
  }

  #arrived(stream: Duplex): void {
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      waiter.take(stream);
      return;
    }
    if (this.#closed || this.#queued.length >= this.#maxQueued) {
      traceAnomaly('client', formatAddress(this.#transport.address), 'connection refused: the accept queue is full');
      stream.destroy();
      return;
    }
    this.#queued.push(stream);
    // A peer that leaves while it waits is forgotten.
    stream.once('close', () => {
      const i = this.#queued.indexOf(stream);
      if (i >= 0) this.#queued.splice(i, 1);
    });
  }

  #closedError(): QmpStateError {
    return new QmpStateError('QMP_ERR_CLOSED', `The listener on ${formatAddress(this.address)} is closed`, 'closed');
  }

  /**
   * Stops listening: waiting accepts reject with `QMP_ERR_CLOSED`, queued connections are closed and
   * the unix socket file is removed. Clients already accepted stay connected. Idempotent.
   */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      for (const w of this.#waiters.splice(0)) w.fail(this.#closedError());
      for (const s of this.#queued.splice(0)) s.destroy();
    }
    await this.#transport.close();
  }
}
