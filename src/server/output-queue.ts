import type { Duplex } from 'node:stream';

/**
 * Messages at least this long are handed to the stream on their own instead of being joined with
 * others: joining would copy them once more.
 */
const JOIN_BYTES = 64 * 1024;

/**
 * Writes the stream may buffer before later output is held back and joined until it drains (or
 * `JOIN_BYTES` gathered): each buffered write costs memory of its own, so a client that does not
 * read while messages come one at a time must not get one write per message.
 */
const HOLD_AFTER_WRITES = 16;

/**
 * A session's output on its way to the stream, with the byte count its `maxOutputBytes` cap is
 * checked against.
 *
 * Messages written in one go (an event and its command's reply, pipelined replies, a burst of
 * events) are joined and handed to the stream as one write at the end of the current microtask, so
 * they leave in one system call. Once a client stops reading, later output is gathered until the
 * stream drains, so it holds a few large writes, not one per message. The count is real bytes (UTF-8) of everything not yet taken by the
 * transport: what waits for the end of the microtask as well as what the stream still buffers.
 */
export class QmpOutputQueue {
  readonly #stream: Duplex;
  readonly #maxBytes: number;
  /** Messages of the current burst, not yet handed to the stream. */
  #batch: string[] = [];
  #batchBytes = 0;
  /** `onFlushed` callbacks of the current burst, run once the stream took all of it. */
  #batchFlushed: Array<() => void> = [];
  #flushScheduled = false;
  /** Bytes handed to the stream that it has not yet taken. */
  #inStream = 0;
  /** Writes handed to the stream that it has not yet taken. */
  #writesInStream = 0;
  readonly #flushSoon = (): void => {
    this.#flushScheduled = false;
    if (!this.#holding()) this.flush();
  };

  constructor(stream: Duplex, maxBytes: number) {
    this.#stream = stream;
    this.#maxBytes = maxBytes;
    stream.on('drain', () => this.flush());
  }

  /** Output bytes queued and not yet taken by the transport. */
  get queuedBytes(): number {
    return this.#inStream + this.#batchBytes;
  }

  /**
   * Queues one formatted message. Returns false, queueing nothing, when it would take the queued
   * bytes past the cap: the caller disconnects the client then.
   */
  push(text: string, onFlushed?: () => void): boolean {
    const bytes = Buffer.byteLength(text, 'utf8');
    if (this.queuedBytes + bytes > this.#maxBytes) return false;
    if (bytes >= JOIN_BYTES) {
      this.flush();
      this.#handOver(text, bytes, onFlushed === undefined ? [] : [onFlushed]);
      return true;
    }
    this.#batch.push(text);
    this.#batchBytes += bytes;
    if (onFlushed !== undefined) this.#batchFlushed.push(onFlushed);
    if (this.#batchBytes >= JOIN_BYTES) this.flush();
    else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(this.#flushSoon);
    }
    return true;
  }

  /** Hands the current burst to the stream now (before ending it). */
  flush(): void {
    if (this.#batch.length === 0) return;
    // join() gives one flat string: the pieces the writer built it from are freed.
    const text = this.#batch.length === 1 ? (this.#batch[0] as string) : this.#batch.join('');
    const bytes = this.#batchBytes;
    const flushed = this.#batchFlushed;
    this.#batch = [];
    this.#batchBytes = 0;
    this.#batchFlushed = [];
    this.#handOver(text, bytes, flushed);
  }

  /**
   * Drops what was not handed to the stream (the connection is gone) and runs its callbacks, which
   * run at once when there is no connection to take the output.
   */
  discard(): void {
    const flushed = this.#batchFlushed;
    this.#batch = [];
    this.#batchBytes = 0;
    this.#batchFlushed = [];
    for (const fn of flushed) fn();
  }

  #holding(): boolean {
    return this.#writesInStream >= HOLD_AFTER_WRITES && this.#stream.writableNeedDrain;
  }

  #handOver(text: string, bytes: number, flushed: Array<() => void>): void {
    if (this.#stream.destroyed) {
      for (const fn of flushed) fn();
      return;
    }
    this.#inStream += bytes;
    this.#writesInStream++;
    // The stream calls back once the transport took the bytes, or with an error once it is destroyed.
    this.#stream.write(text, () => {
      this.#inStream -= bytes;
      this.#writesInStream--;
      for (const fn of flushed) fn();
    });
  }
}
