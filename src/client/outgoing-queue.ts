import type { Duplex } from 'node:stream';
import type { PendingCall } from './request-tracker.js';

/** Sends one request's bytes with its descriptors attached (a `QmpFdChannel`'s `send`). */
export type FdSender = (data: Buffer, fds: readonly number[]) => Promise<void>;

/** What the queue needs for requests that carry descriptors. */
export interface OutgoingFdHooks {
  /** The connection's fd channel; only asked when a call has `fds` (the session checked it can). */
  readonly sender: () => FdSender;
  /** Sending failed (`EPIPE`, ...): the connection is unusable. */
  readonly failed: (err: Error) => void;
}

/**
 * The write side of a session: the request lines of one tick go out in one write (fewer syscalls
 * and packets for pipelined calls). A request with descriptors goes out on its own, after what came
 * before it reached the kernel and before anything after it is written. Remembers whether `quit` was
 * written, since QEMU then closing the connection is success, not a failure.
 */
export class OutgoingQueue {
  readonly #stream: Duplex;
  readonly #fdHooks: OutgoingFdHooks | undefined;
  #buf = '';
  /** What goes before `#buf` when a line in pieces was queued this tick. */
  #chunks: Array<string | Uint8Array> = [];
  #scheduled = false;
  #quitSent = false;
  /** Calls queued while a request with descriptors is being sent: they follow it, in order. */
  #behindFds: PendingCall[] | undefined;

  constructor(stream: Duplex, fdHooks?: OutgoingFdHooks) {
    this.#stream = stream;
    this.#fdHooks = fdHooks;
  }

  /** True once a `quit` request was queued for writing. */
  get quitSent(): boolean {
    return this.#quitSent;
  }

  /** Appends the calls' lines; they are written together at the end of this tick. */
  push(calls: readonly PendingCall[]): void {
    if (calls.length === 0) return;
    for (const [i, call] of calls.entries()) {
      if (this.#behindFds !== undefined) {
        this.#behindFds.push(...calls.slice(i));
        return;
      }
      if (call.command === 'quit') this.#quitSent = true;
      if (call.fds !== undefined && this.#fdHooks !== undefined) {
        this.flush();
        this.#sendWithFds(call, this.#fdHooks);
        continue;
      }
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

  #sendWithFds(call: PendingCall, hooks: OutgoingFdHooks): void {
    this.#behindFds = [];
    const line = call.line;
    const data = typeof line === 'string' ? Buffer.from(line) : Buffer.concat(line.map((p) => Buffer.from(p)));
    let send: FdSender;
    try {
      send = hooks.sender();
    } catch (err) {
      this.#behindFds = undefined;
      hooks.failed(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    send(data, call.fds ?? []).then(
      () => {
        const next = this.#behindFds ?? [];
        this.#behindFds = undefined;
        this.push(next);
      },
      (err: unknown) => {
        this.#behindFds = undefined;
        hooks.failed(err instanceof Error ? err : new Error(String(err)));
      },
    );
  }
}
