import { QmpAbortedError, QmpTimeoutError } from '../errors/qmp-error.js';

/**
 * One deadline and one optional AbortSignal for an operation, turned into a single `onFire` callback
 * with the right error. `clear()` removes the timer and the listener: call it when the operation
 * settles, so nothing leaks.
 */
export class Deadline {
  #timer: NodeJS.Timeout | undefined;
  #signal: AbortSignal | undefined;
  #onAbort: (() => void) | undefined;

  /**
   * @param what Description used in messages ("query-status", "waiting for event STOP").
   * @param onFire Called once with a QmpTimeoutError or QmpAbortedError.
   * @param missing What did not arrive, for the timeout message ("no STOP event"); by default a
   *   reply to `what`.
   */
  constructor(
    what: string,
    timeoutMs: number | undefined,
    signal: AbortSignal | undefined,
    onFire: (err: Error) => void,
    missing = `no reply to ${what}`,
  ) {
    if (signal?.aborted) {
      onFire(new QmpAbortedError(`${what}: aborted`, { cause: signal.reason }));
      return;
    }
    if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) {
      this.#timer = setTimeout(() => {
        this.clear();
        onFire(new QmpTimeoutError(`${missing} within ${timeoutMs} ms`, timeoutMs));
      }, timeoutMs);
    }
    if (signal) {
      this.#signal = signal;
      this.#onAbort = () => {
        this.clear();
        onFire(new QmpAbortedError(`${what}: aborted`, { cause: signal.reason }));
      };
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  clear(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#signal && this.#onAbort) this.#signal.removeEventListener('abort', this.#onAbort);
    this.#signal = undefined;
    this.#onAbort = undefined;
  }
}
