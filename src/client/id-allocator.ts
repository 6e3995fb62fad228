import { QmpInternalError } from '../errors/qmp-error.js';

/** The largest id the client sends: QEMU keeps any JSON value, this keeps ids small positive integers. */
export const MAX_REQUEST_ID = 0x7fffffff;

/**
 * Request ids. An id is taken for a request and given back only when nothing can answer to it any
 * more (its reply came, or it was never written). Given-back ids are reused before new ones: QEMU
 * reads requests a byte per system call, so short ids make every request cheaper for it. An id that
 * is still out is never handed out again, so a late reply can only ever reach its own call.
 */
export class IdAllocator {
  readonly #maxId: number;
  readonly #free: number[] = [];
  #next = 1;

  /** @param maxId The largest id (default {@link MAX_REQUEST_ID}; smaller in tests of the edge). */
  constructor(maxId: number = MAX_REQUEST_ID) {
    this.#maxId = maxId;
  }

  /** An id that is not out. Throws `QMP_ERR_INTERNAL` if every id is out (the pending limit prevents it). */
  take(): number {
    const free = this.#free.pop();
    if (free !== undefined) return free;
    if (this.#next > this.#maxId) throw new QmpInternalError(`All ${this.#maxId} request ids are in use`);
    return this.#next++;
  }

  /** Gives `id` back: it may be handed out again. */
  release(id: number): void {
    this.#free.push(id);
  }
}
