import { QmpInternalError } from '../errors/qmp-error.js';

/**
 * The client's runstate. `execute` works only in `ready`; a client connected with `reconnect` is
 * `reconnecting` between a lost connection and the next session (its commands then wait).
 */
export type QmpRunstate = 'connecting' | 'negotiating' | 'ready' | 'reconnecting' | 'closing' | 'closed';

const NEXT: Record<QmpRunstate, readonly QmpRunstate[]> = {
  connecting: ['negotiating', 'ready', 'closing', 'closed'],
  negotiating: ['ready', 'closing', 'closed'],
  ready: ['reconnecting', 'closing', 'closed'],
  reconnecting: ['ready', 'closing', 'closed'],
  closing: ['closed'],
  closed: [],
};

/** Holds the runstate and refuses transitions that make no sense (a bug if one is attempted). */
export class Runstate {
  #state: QmpRunstate = 'connecting';

  get state(): QmpRunstate {
    return this.#state;
  }

  /**
   * Moves to `to` (staying is allowed). A move the table does not allow, such as out of `closed`, is
   * a bug in the caller: it throws `QMP_ERR_INTERNAL` instead of going on in a state nobody expects.
   */
  to(to: QmpRunstate): void {
    if (to === this.#state) return;
    if (!NEXT[this.#state].includes(to)) {
      throw new QmpInternalError(`Impossible client runstate transition from ${this.#state} to ${to}`);
    }
    this.#state = to;
  }
}
