import { fstatSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import {
  type QmpError,
  QmpFdPassingError,
  QmpInternalError,
  QmpLimitError,
  QmpUsageError,
} from '../errors/qmp-error.js';
import { fdChannelFor, type QmpFdChannelStatus } from '../transport/fd-socket.js';
import type { FdSender } from './outgoing-queue.js';

/**
 * A session's file-descriptor passing: checks a request's `fds` before it is accepted (how many,
 * open, and whether the connection can carry them at all) and hands the outgoing queue the sender.
 * Whether the connection can is found out the first time a request has descriptors.
 */
export class RequestFds {
  readonly #stream: Duplex;
  readonly #max: number;
  #status: QmpFdChannelStatus | undefined;

  constructor(stream: Duplex, maxFdsPerRequest: number) {
    this.#stream = stream;
    this.#max = maxFdsPerRequest;
  }

  /** Why `fds` cannot be sent with `name`, or undefined. Checked before an id is taken: nothing is sent. */
  check(name: string, fds: readonly number[] | undefined): QmpError | undefined {
    if (fds === undefined) return undefined;
    if (fds.length > this.#max)
      return new QmpLimitError(
        `Cannot execute ${name}: ${fds.length} file descriptors, at most ${this.#max} per request (QEMU reads no more with one message; option maxFdsPerRequest)`,
        'maxFdsPerRequest',
        this.#max,
      );
    for (const fd of fds) {
      if (!Number.isInteger(fd) || fd < 0)
        return new QmpUsageError(`execute ${name}: fds must be open file descriptors (integers), not ${String(fd)}`);
      try {
        fstatSync(fd);
      } catch (err) {
        return new QmpUsageError(`execute ${name}: fd ${fd} is not an open file descriptor`, { cause: err });
      }
    }
    const s = this.#channel();
    return s.ok ? undefined : new QmpFdPassingError(`Cannot pass file descriptors with ${name}: ${s.reason}`, s.reason);
  }

  /** The sender for a request that passed {@link check}. */
  sender(): FdSender {
    const s = this.#channel();
    if (!s.ok) throw new QmpInternalError(`fds queued on a connection that cannot pass them: ${s.reason}`);
    return s.channel.send;
  }

  #channel(): QmpFdChannelStatus {
    this.#status ??= fdChannelFor(this.#stream);
    return this.#status;
  }
}
