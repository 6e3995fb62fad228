/** The client's runstate. `execute` works only in `ready`. */
export type QmpRunstate = 'connecting' | 'negotiating' | 'ready' | 'closing' | 'closed';

const NEXT: Record<QmpRunstate, readonly QmpRunstate[]> = {
  connecting: ['negotiating', 'ready', 'closing', 'closed'],
  negotiating: ['ready', 'closing', 'closed'],
  ready: ['closing', 'closed'],
  closing: ['closed'],
  closed: [],
};

/** Holds the runstate and refuses transitions that make no sense (a bug if one is attempted). */
export class Runstate {
  #state: QmpRunstate = 'connecting';

  get state(): QmpRunstate {
    return this.#state;
  }

  /** Moves to `to`; returns false (and stays) when the move is not allowed, e.g. out of `closed`. */
  to(to: QmpRunstate): boolean {
    if (to === this.#state) return true;
    if (!NEXT[this.#state].includes(to)) return false;
    this.#state = to;
    return true;
  }
}
