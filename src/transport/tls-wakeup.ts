import { Duplex } from 'node:stream';

/** First delay before a wake-up record while requests wait and nothing comes back, in ms. */
const WAKEUP_FIRST_MS = 2;
/** The longest delay between wake-up records, in ms. */
const WAKEUP_MAX_MS = 200;
/** A one-byte TLS record QEMU reads as whitespace. */
const WAKEUP = '\n';

/** The side of the wrapper the session talks to: it tells how many requests await a reply. */
export interface QmpOutstandingProbe {
  /** Sets how the wrapper learns the number of written requests still waiting for a reply. */
  watchOutstanding(probe: () => number): void;
}

/**
 * Wraps a TLS socket to work around QEMU 7.2's TLS stall: QEMU leaves a request that came in one TLS
 * record unread until another record arrives, and with several requests in flight, plaintext it
 * has not read yet sits in its TLS buffer with nothing to wake it. So: every write is followed by a
 * separate one-byte record; each chunk read while requests are still outstanding is answered with
 * one at once; and while requests wait and nothing comes back, another is sent after 2 ms, then
 * less and less often (up to every 200 ms). The newline is whitespace to QEMU: it never answers it.
 */
export class TlsWakeupStream extends Duplex implements QmpOutstandingProbe {
  readonly #socket: Duplex;
  #outstanding: () => number = () => 0;
  #timer: NodeJS.Timeout | undefined;
  #dataSinceWakeup = false;

  constructor(socket: Duplex) {
    super({ allowHalfOpen: true });
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
  }

  watchOutstanding(probe: () => number): void {
    this.#outstanding = probe;
  }

  override _read(): void {
    this.#socket.resume();
  }

  override _write(chunk: Buffer | string, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#socket.write(chunk, encoding);
    this.#socket.write(WAKEUP, (err) => callback(err));
    this.#arm();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#socket.end(callback);
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.#clearTimer();
    this.#socket.destroy();
    callback(err);
  }

  #onData(chunk: Buffer): void {
    this.#dataSinceWakeup = true;
    if (!this.push(chunk)) this.#socket.pause();
    // The reader handles the chunk (and settles its replies) synchronously or in a microtask: ask
    // after that whether requests are still waiting.
    queueMicrotask(() => {
      if (this.#outstanding() > 0) this.#wake();
    });
  }

  #wake(): void {
    if (this.#socket.destroyed || !this.#socket.writable) return;
    this.#socket.write(WAKEUP);
  }

  #arm(delay = WAKEUP_FIRST_MS): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.destroyed || this.#outstanding() === 0) return;
      if (this.#dataSinceWakeup) {
        this.#dataSinceWakeup = false;
        this.#arm();
        return;
      }
      this.#wake();
      this.#arm(Math.min(delay * 2, WAKEUP_MAX_MS));
    }, delay);
    this.#timer.unref?.();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
