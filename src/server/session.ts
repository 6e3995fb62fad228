import type { Duplex } from 'node:stream';
import { QmpConnectionError, QmpLimitError } from '../errors/index.js';
import type { QmpCapability } from '../protocol/index.js';
import { traceAnomaly, traceIn, traceOut } from '../trace/index.js';
import { formatQemuMessage, QemuJsonParser, type QValue } from '../wire/index.js';
import { isOobRequest } from './check-request.js';
import type { QmpInputState, QmpQueuedInput, QmpReadRules, QmpRequestQueue } from './dispatch-strategies.js';
import { QmpOutputQueue } from './output-queue.js';
import { QmpSessionFds } from './session-fds.js';
import { QmpSessionHandle, type QmpSessionState } from './session-handle.js';

/** What a session needs from its server. */
export interface QmpSessionHost {
  readonly maxQueuedRequests: number;
  readonly maxOutputBytes: number;
  readonly closeFlushTimeoutMs: number;
  /** Keep descriptors clients send with SCM_RIGHTS (unix sockets, with the native addon). */
  readonly receiveFds: boolean;
  readonly maxReceivedFds: number;
  readonly parserOptions: { maxTokenBytes?: number; maxTokens?: number; maxDepth?: number };
  /** When to read on: the dispatch strategy's. */
  readonly readRules: QmpReadRules;
  greeting(session: QmpServerSessionImpl): unknown;
  /** The session has in-band input queued. */
  wake(session: QmpServerSessionImpl): void;
  /** Runs an `exec-oob` request (or one that looks like it) at once. */
  runOob(session: QmpServerSessionImpl, value: QValue): void;
  closed(session: QmpServerSessionImpl): void;
}

/**
 * Bytes fed to the parser in one step: bounds the parsed-ahead results held while reading is
 * suspended. A parsing granularity, not a limit a client can reach: input beyond it stays unparsed
 * in the inbox, and the paused stream leaves the rest with the peer.
 */
const FEED_BYTES = 16 * 1024;

/**
 * One client connection of a QMP server: it greets, reads and splits input with QEMU's parser,
 * queues in-band requests (reading on as the dispatch strategy's read rules allow), writes output
 * and closes. It answers nothing itself: the server's dispatcher does.
 */
export class QmpServerSessionImpl implements QmpSessionState, QmpRequestQueue, QmpInputState {
  /** What server code outside this folder gets: monitors, `serve()`, handlers. */
  readonly handle: QmpSessionHandle = new QmpSessionHandle(this);
  /** Name used in traces (the address, or `session-N`). */
  readonly label: string;
  /** Capabilities offered in this session's greeting. */
  readonly offeredCapabilities: readonly QmpCapability[];
  /** `pretty=on` output. */
  readonly pretty: boolean;

  readonly #stream: Duplex;
  readonly #host: QmpSessionHost;
  readonly #rules: QmpReadRules;
  readonly #parser: QemuJsonParser;
  readonly #abort = new AbortController();
  readonly #closedPromise: Promise<void>;
  #resolveClosed: () => void = () => {};

  #negotiated = false;
  #oobEnabled = false;
  #closed = false;
  #ending = false;

  readonly #inbox: Buffer[] = [];
  /** Bytes of the stream given to the parser so far. */
  #fed = 0;
  readonly #fds: QmpSessionFds | undefined;
  #eof = false;
  #eofReached = false;
  #inBand = 0;
  #held: Array<{ value: QValue } | { error: string }> = [];
  #heldAt = 0;
  readonly #queue: QmpQueuedInput[] = [];
  #suspended = false;
  #pumping = false;
  #pumpScheduled = false;
  readonly #output: QmpOutputQueue;

  constructor(
    stream: Duplex,
    host: QmpSessionHost,
    options: { label: string; pretty: boolean; capabilities: readonly QmpCapability[] },
  ) {
    this.#stream = stream;
    this.#host = host;
    this.#rules = host.readRules;
    this.label = options.label;
    this.pretty = options.pretty;
    this.offeredCapabilities = Object.freeze([...options.capabilities]);
    this.#parser = new QemuJsonParser(host.parserOptions);
    this.#output = new QmpOutputQueue(stream, host.maxOutputBytes);
    this.#closedPromise = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    this.#fds = host.receiveFds && !stream.destroyed ? QmpSessionFds.attach(stream, host.maxReceivedFds) : undefined;
    stream.on('data', (chunk: Buffer | string) => this.#onData(chunk));
    stream.on('end', () => {
      this.#eof = true;
      this.#pump();
    });
    stream.on('error', (err: Error) => this.#finish(err));
    stream.on('close', () => this.#finish(undefined));
    if (stream.destroyed) {
      queueMicrotask(() => this.#finish(undefined));
      return;
    }
    // QEMU greets as soon as the connection is open, before reading anything.
    this.writeMessage(host.greeting(this));
    this.#flowControl();
  }

  /** True once `qmp_capabilities` succeeded: commands are available and events are delivered. */
  get negotiated(): boolean {
    return this.#negotiated;
  }

  /** True when the client enabled `oob` in `qmp_capabilities`. */
  get oobEnabled(): boolean {
    return this.#oobEnabled;
  }

  /** True once the connection is closed (or closing). */
  get closed(): boolean {
    return this.#closed || this.#ending;
  }

  /** Aborted when the session closes. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Resolves when the connection has closed. */
  whenClosed(): Promise<void> {
    return this.#closedPromise;
  }

  /**
   * Ends the connection: output already written is flushed, then the stream is closed (destroyed
   * after `timeoutMs` if the peer does not take it). Queued requests are dropped, like QEMU does
   * when a client leaves.
   */
  close(timeoutMs = this.#host.closeFlushTimeoutMs): Promise<void> {
    this.#end(timeoutMs);
    return this.#closedPromise;
  }

  // ---- internal API used by the server -------------------------------------------------------

  /** Switches to command mode (after `qmp_capabilities`). */
  setNegotiated(oob: boolean): void {
    this.#negotiated = true;
    this.#oobEnabled = oob;
  }

  /**
   * Takes the descriptor the client passed with SCM_RIGHTS, as QEMU's `getfd` and `add-fd` do: the
   * first of the set that came last (the others are closed), or undefined when none is held.
   */
  takeFd(): number | undefined {
    return this.#fds?.take();
  }

  /** In-band requests read and not yet taken. */
  get queued(): number {
    return this.#queue.length;
  }

  /** In-band requests taken and not yet answered. */
  get inFlight(): number {
    return this.#inBand;
  }

  get maxQueued(): number {
    return this.#host.maxQueuedRequests;
  }

  /** True when in-band input is queued. */
  hasQueued(): boolean {
    return this.#queue.length > 0 && !this.closed;
  }

  /**
   * Takes the next in-band input; `done()` must be called once its reply is written (without OOB,
   * QEMU resumes reading only then).
   */
  takeQueued(): { input: QmpQueuedInput; done: () => void } | undefined {
    const input = this.#queue.shift();
    if (input === undefined) return undefined;
    this.#inBand++;
    if (this.#rules.afterTaken(this)) this.#resume();
    return {
      input,
      done: () => {
        this.#inBand--;
        if (this.#rules.afterAnswered(this)) this.#resume();
        this.#endAtEof();
      },
    };
  }

  /**
   * Writes one message in QEMU's format; `onFlushed` runs once the transport took it (or at once
   * when the connection is gone).
   */
  writeMessage(message: unknown, onFlushed?: () => void): void {
    if (this.closed) {
      onFlushed?.();
      return;
    }
    const text = formatQemuMessage(message, { pretty: this.pretty });
    traceOut('server', this.label, message);
    if (this.#output.push(text, onFlushed)) return;
    // Past the cap nothing more is queued: the client is cut off at once, so what a client that
    // does not read costs stays near the cap.
    const max = this.#host.maxOutputBytes;
    const err = new QmpLimitError(
      `Client ${this.label} does not read its output: ${this.#output.queuedBytes} bytes queued and ${Buffer.byteLength(text, 'utf8')} more to write, more than maxOutputBytes (${max}); disconnected`,
      'maxOutputBytes',
      max,
    );
    traceAnomaly('server', this.label, err.message);
    this.#stream.destroy();
    this.#finish(err);
    onFlushed?.();
  }

  // ---- input ----------------------------------------------------------------------------------

  #onData(chunk: Buffer | string): void {
    if (this.closed) return;
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    if (buf.length === 0) return;
    this.#inbox.push(buf);
    this.#pump();
  }

  #resume(): void {
    if (!this.#suspended) return;
    this.#suspended = false;
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    queueMicrotask(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  /**
   * Processes input while QEMU would be reading: parsed results one by one, feeding more bytes only
   * when every earlier result has been taken. A request the queue cannot take stops the pump, so
   * later bytes (an OOB request, the EOF) wait exactly as they would in QEMU's socket buffer.
   */
  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      this.#pumpLoop();
    } catch (err) {
      // A bug must cost this connection, not the process.
      traceAnomaly('server', this.label, `internal error while reading input: ${String(err)}`, err);
      this.#stream.destroy();
      this.#finish(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.#pumping = false;
    }
    this.#flowControl();
  }

  #pumpLoop(): void {
    while (!this.closed && !this.#suspended) {
      if (this.#heldAt < this.#held.length) {
        const r = this.#held[this.#heldAt++];
        if (this.#heldAt === this.#held.length) {
          this.#held = [];
          this.#heldAt = 0;
        }
        if (r !== undefined) this.#take(r);
        continue;
      }
      const head = this.#inbox[0];
      if (head !== undefined) {
        let size = Math.min(head.length, FEED_BYTES);
        // Descriptors become current when the parser reaches the byte they came with.
        if (this.#fds !== undefined) size = this.#fds.feed(this.#fed, size);
        let piece: Buffer;
        if (head.length === size) {
          piece = head;
          this.#inbox.shift();
        } else {
          piece = head.subarray(0, size);
          this.#inbox[0] = head.subarray(size);
        }
        this.#fed += size;
        this.#held = this.#parser.push(piece);
        this.#heldAt = 0;
        continue;
      }
      if (this.#eof) {
        this.#eofReached = true;
        this.#endAtEof();
      }
      break;
    }
  }

  #flowControl(): void {
    if (this.closed) return;
    // The pump only stops early while suspended; otherwise the inbox is empty here.
    if (this.#suspended) this.#stream.pause();
    else this.#stream.resume();
  }

  #take(r: { value: QValue } | { error: string }): void {
    if ('value' in r) {
      traceIn('server', this.label, r.value);
      if (isOobRequest(r.value) && this.#rules.oobRunsAtOnce(this)) {
        this.#host.runOob(this, r.value);
        return;
      }
    } else {
      traceIn('server', this.label, { error: r.error });
    }
    this.#queue.push(r);
    if (!this.#rules.afterQueued(this)) this.#suspended = true;
    this.#host.wake(this);
  }

  // ---- closing --------------------------------------------------------------------------------

  /**
   * After the client's EOF, the requests it sent before are answered, then the connection ends.
   * (QEMU closes when its byte-by-byte reader reaches the EOF; its dispatcher has normally answered
   * everything by then. A client that disconnects outright loses its queued requests instead.)
   */
  #endAtEof(): void {
    if (this.#eofReached && this.#queue.length === 0 && this.#inBand === 0) this.#end(this.#host.closeFlushTimeoutMs);
  }

  #end(timeoutMs: number): void {
    if (this.closed) return;
    this.#ending = true;
    this.#dropInput();
    this.#abort.abort(new QmpConnectionError('QMP_ERR_DISCONNECTED', `Client ${this.label} disconnected`));
    const stream = this.#stream;
    if (stream.destroyed) {
      this.#finish(undefined);
      return;
    }
    this.#output.flush();
    const timer = setTimeout(() => stream.destroy(), timeoutMs);
    timer.unref?.();
    stream.once('close', () => clearTimeout(timer));
    stream.end(() => stream.destroy());
    stream.resume();
  }

  #dropInput(): void {
    this.#inbox.length = 0;
    this.#held = [];
    this.#heldAt = 0;
    this.#queue.length = 0;
    this.#parser.reset();
  }

  #finish(err: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#ending = false;
    this.#dropInput();
    this.#fds?.close();
    this.#output.discard();
    if (!this.#abort.signal.aborted) {
      this.#abort.abort(err ?? new QmpConnectionError('QMP_ERR_DISCONNECTED', `Client ${this.label} disconnected`));
    }
    if (!this.#stream.destroyed) this.#stream.destroy();
    this.#host.closed(this);
    this.handle.emit('close', err);
    this.#resolveClosed();
  }
}
