/** A connection's place in the proxy's limits; `release` gives it back (idempotent). */
export interface QmpProxySlot {
  release(): void;
}

/** The limits one listener's connections are admitted under. */
export interface QmpProxyListenerQuota {
  /** The listener as given to `listen`. */
  readonly listener: string;
  /** Connections this listener may hold at once. */
  readonly maxClients: number;
  /** True when the listener's profile forwards everything: it may use the reserved room. */
  readonly fullAccess: boolean;
}

/**
 * Counts the proxy's connections (handshaking, negotiating and served alike) per listener and in
 * total. Listeners without full access share `maxClients - reserved`: whatever their clients do,
 * `reserved` connections stay free for the listeners that have it, such as a VM manager's.
 */
export class QmpProxyConnectionLimits {
  readonly #maxClients: number;
  readonly #reserved: number;
  readonly #perListener = new Map<string, number>();
  #total = 0;
  #restricted = 0;

  constructor(maxClients: number, reserved: number) {
    this.#maxClients = maxClients;
    this.#reserved = Math.min(reserved, maxClients);
  }

  /** Connections open now. */
  get count(): number {
    return this.#total;
  }

  /** A slot for a new connection on `quota`'s listener, or why there is none. */
  admit(quota: QmpProxyListenerQuota): QmpProxySlot | string {
    const mine = this.#perListener.get(quota.listener) ?? 0;
    if (mine >= quota.maxClients) return `${quota.maxClients} clients already on this listener (its maxClients)`;
    if (this.#total >= this.#maxClients) return `${this.#maxClients} clients already (maxClients)`;
    if (!quota.fullAccess && this.#restricted >= this.#maxClients - this.#reserved)
      return `${this.#maxClients - this.#reserved} clients already on listeners without full access (maxClients less reservedFullAccessClients)`;
    this.#perListener.set(quota.listener, mine + 1);
    this.#total++;
    if (!quota.fullAccess) this.#restricted++;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#perListener.set(quota.listener, (this.#perListener.get(quota.listener) ?? 1) - 1);
        this.#total--;
        if (!quota.fullAccess) this.#restricted--;
      },
    };
  }
}
