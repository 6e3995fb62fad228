/** What {@link QmpProxyClientDeadlines} needs of a client connection. */
export interface QmpDeadlineTarget {
  readonly negotiated: boolean;
  readonly closed: boolean;
  /** Disconnects the client, saying why. */
  expire(reason: string): void;
}

/**
 * A proxy client's two clocks: negotiation (from accept to a successful `qmp_capabilities`; a client
 * that stays silent is disconnected, so it cannot hold a connection slot forever) and, when enabled,
 * idleness (no command for `idleMs` while none is in flight).
 */
export class QmpProxyClientDeadlines {
  readonly #target: QmpDeadlineTarget;
  readonly #idleMs: number;
  #timer: NodeJS.Timeout | undefined;
  #busy = 0;
  #stopped = false;

  constructor(target: QmpDeadlineTarget, negotiationMs: number, idleMs: number) {
    this.#target = target;
    this.#idleMs = idleMs;
    if (negotiationMs > 0) this.#timer = setTimeout(() => this.#negotiationDue(negotiationMs), negotiationMs);
    else this.#armIdle();
  }

  #negotiationDue(ms: number): void {
    this.#timer = undefined;
    if (this.#stopped || this.#target.closed) return;
    if (!this.#target.negotiated) {
      this.#target.expire(`no successful qmp_capabilities within ${ms} ms (negotiationTimeoutMs)`);
      return;
    }
    this.#armIdle();
  }

  #armIdle(): void {
    if (this.#idleMs <= 0 || this.#stopped || this.#busy > 0) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#stopped || this.#target.closed || this.#busy > 0) return;
      this.#target.expire(`no command for ${this.#idleMs} ms (idleTimeoutMs)`);
    }, this.#idleMs);
  }

  /** The client sent a command (even one refused): its idle clock starts over. */
  touch(): void {
    if (this.#target.negotiated && this.#busy === 0 && this.#timer !== undefined && this.#idleMs > 0) this.#armIdle();
  }

  /** A command is forwarded: the client is busy until {@link commandDone}. */
  commandStarted(): void {
    this.#busy++;
    // During negotiation the negotiation clock keeps running; afterwards the idle clock stops.
    if (this.#target.negotiated && this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  commandDone(): void {
    this.#busy--;
    if (this.#busy === 0 && this.#target.negotiated && this.#timer === undefined) this.#armIdle();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
