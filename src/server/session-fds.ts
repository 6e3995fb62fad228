import type { Duplex } from 'node:stream';
import { closeFds, type QmpFdReceiver, receiveFds } from '../transport/index.js';

/**
 * The descriptors one client passed with SCM_RIGHTS, held the way QEMU's socket chardev holds them:
 * a set becomes current when the parser reaches the byte it came with, replacing (and closing) the set
 * before it; a command that takes a descriptor gets the first of the current set and the others are
 * closed. A set sent with a request is therefore current when that request runs, and a set sent ahead
 * of its command (some clients send it with a lone space) waits for the next one that takes it.
 *
 * QEMU reads one byte at a time, so it knows the byte a set came with. qmpkit reads as much as is
 * there, and the kernel ends a read right after the bytes that carried descriptors but may begin it
 * with bytes sent before them: the set is made current at the first byte of the read. It differs from
 * QEMU only when requests written before the set are still unread when it comes, and one of them takes
 * a descriptor.
 */
export class QmpSessionFds {
  readonly #receiver: QmpFdReceiver;
  #current: readonly number[] = [];

  private constructor(receiver: QmpFdReceiver) {
    this.#receiver = receiver;
  }

  /** Receives descriptors on `stream` when it is a unix socket and the native addon is there. */
  static attach(stream: Duplex, maxReceivedFds: number): QmpSessionFds | undefined {
    const status = receiveFds(stream, { maxReceivedFds });
    return status.ok ? new QmpSessionFds(status.receiver) : undefined;
  }

  /**
   * Called before bytes from stream offset `fed` go to the parser: makes current the set that came with
   * byte `fed`, and returns how many of `want` bytes may go before the next set's byte.
   */
  feed(fed: number, want: number): number {
    let next = this.#receiver.peek();
    while (next !== undefined && next.at <= fed) {
      this.#receiver.take();
      this.#drop(this.#current);
      this.#current = next.fds;
      next = this.#receiver.peek();
    }
    return next === undefined ? want : Math.min(want, next.at - fed);
  }

  /** QEMU's `qemu_chr_fe_get_msgfd`: the first descriptor of the current set; the rest are closed. */
  take(): number | undefined {
    const [first, ...rest] = this.#current;
    this.#current = [];
    this.#drop(rest);
    if (first !== undefined) this.#receiver.released(1);
    return first;
  }

  /** Closes what is held (the connection is gone). */
  close(): void {
    this.#drop(this.#current);
    this.#current = [];
  }

  #drop(fds: readonly number[]): void {
    closeFds(fds);
    this.#receiver.released(fds.length);
  }
}
