import type { Duplex } from 'node:stream';
import type { PendingCall } from './request-tracker.js';

/**
 * The write side of a session: the request lines of one tick go out in one write (fewer syscalls
 * and packets for pipelined calls). Remembers whether `quit` was written, since QEMU then closing the
 * connection is success, not a failure.
 */
export class OutgoingQueue {
  readonly #stream: Duplex;
  #buf = '';
  /** What goes before `#buf` when a line in pieces was queued this tick. */
  #chunks: Array<string | Uint8Array> = [];
  #scheduled = false;
  #quitSent = false;

  constructor(stream: Duplex) {
    this.#stream = stream;
  }

  /** True once a `quit` request was queued for writing. */
  get quitSent(): boolean {
    return this.#quitSent;
  }

  /** Appends the calls' lines; they are written together at the end of this tick. */
  push(calls: readonly PendingCall[]): void {
    if (calls.length === 0) return;
    for (const call of calls) {
      if (call.command === 'quit') this.#quitSent = true;
      const line = call.line;
      if (typeof line === 'string') {
        this.#buf += line;
        continue;
      }
      if (this.#buf !== '') this.#chunks.push(this.#buf);
      this.#buf = '';
      this.#chunks.push(...line);
    }
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Writes what is buffered now (a closing session's last requests still go out). */
  flush(): void {
    this.#scheduled = false;
    const data = this.#buf;
    const chunks = this.#chunks;
    this.#buf = '';
    if (chunks.length > 0) this.#chunks = [];
    if ((data === '' && chunks.length === 0) || this.#stream.destroyed || !this.#stream.writable) return;
    if (chunks.length === 0) {
      this.#stream.write(data);
      return;
    }
    // Pieces, not one joined copy: corked, they still leave in one system call.
    const s = this.#stream;
    s.cork();
    for (const c of chunks) if (c.length > 0) s.write(c);
    if (data !== '') s.write(data);
    s.uncork();
  }
}
