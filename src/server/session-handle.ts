import { EventEmitter } from 'node:events';
import type { QmpCapability } from '../protocol/index.js';
import type { QmpServerSession } from './types.js';

/** What a handle reads from its connection: everything it shows but its own `close` event. */
export type QmpSessionState = Omit<QmpServerSession, 'on' | 'once' | 'off'>;

/**
 * The public face of one connection ({@link QmpServerSession}): what `serve()` returns, what
 * monitors and handlers get. It holds no state of its own and cannot reach the connection's queue
 * or negotiation switch; one handle per connection, so it is a stable map key.
 */
export class QmpSessionHandle extends EventEmitter<{ close: [reason: Error | undefined] }> implements QmpServerSession {
  readonly #state: QmpSessionState;

  constructor(state: QmpSessionState) {
    super();
    this.#state = state;
  }

  get label(): string {
    return this.#state.label;
  }

  get offeredCapabilities(): readonly QmpCapability[] {
    return this.#state.offeredCapabilities;
  }

  get pretty(): boolean {
    return this.#state.pretty;
  }

  get negotiated(): boolean {
    return this.#state.negotiated;
  }

  get oobEnabled(): boolean {
    return this.#state.oobEnabled;
  }

  get closed(): boolean {
    return this.#state.closed;
  }

  get signal(): AbortSignal {
    return this.#state.signal;
  }

  whenClosed(): Promise<void> {
    return this.#state.whenClosed();
  }

  close(timeoutMs?: number): Promise<void> {
    return this.#state.close(timeoutMs);
  }

  writeMessage(message: unknown, onFlushed?: () => void): void {
    this.#state.writeMessage(message, onFlushed);
  }
}
