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
      this.#buf += call.line;
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
    this.#buf = '';
    if (data === '' || this.#stream.destroyed || !this.#stream.writable) return;
    this.#stream.write(data);
  }
}
