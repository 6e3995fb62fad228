import type { QmpError } from '../errors/index.js';
import { traceAnomaly } from '../trace/trace.js';

type CloseHandler = (reason: QmpError | undefined) => void;

/**
 * The `onClose` handlers of a session: each is called once, with the reason the session ended; one
 * added after the end is called on the next microtask. A handler that throws is traced, and the
 * others still run.
 */
export class CloseHandlers {
  readonly #handlers = new Set<CloseHandler>();
  readonly #label: () => string;
  #ended = false;
  #reason: QmpError | undefined;

  constructor(label: () => string) {
    this.#label = label;
  }

  /** Adds a handler; returns a function that removes it. */
  add(handler: CloseHandler): () => void {
    if (this.#ended) {
      queueMicrotask(() => this.#call(handler));
      return () => {};
    }
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  /** The session ended with `reason` (`undefined`: an orderly end): calls every handler once. */
  fire(reason: QmpError | undefined): void {
    this.#ended = true;
    this.#reason = reason;
    for (const h of [...this.#handlers]) this.#call(h);
    this.#handlers.clear();
  }

  #call(h: CloseHandler): void {
    try {
      h(this.#reason);
    } catch (err) {
      traceAnomaly('client', this.#label(), `close handler threw: ${String(err)}`, err);
    }
  }
}
