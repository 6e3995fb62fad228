import type { QmpError } from '../errors/qmp-error.js';
import { QmpUsageError } from '../errors/qmp-error.js';
import { RECONNECT_FACTOR, RECONNECT_INITIAL_DELAY_MS, RECONNECT_MAX_DELAY_MS } from '../limits.js';
import type { QmpGreeting } from '../protocol/messages.js';

/** The `reconnect` option of `QmpClient.connect`: when and how often to dial again after a lost connection. */
export interface QmpReconnectOptions {
  /** Wait before the first attempt, in ms (default `RECONNECT_INITIAL_DELAY_MS`, 100). */
  initialDelayMs?: number;
  /** The longest wait between attempts, in ms (default `RECONNECT_MAX_DELAY_MS`, 5000). */
  maxDelayMs?: number;
  /** The wait is multiplied by this after each failed attempt (default `RECONNECT_FACTOR`, 2). */
  factor?: number;
  /** Attempts before giving up; then the client is closed with the last error (default: no limit). */
  maxAttempts?: number;
}

/** What a reconnecting client tells its `onReconnect` handlers, in this order. */
export type QmpReconnectEvent =
  /** The connection was lost: in-flight commands failed; new ones wait for the next session. */
  | { readonly type: 'disconnected'; readonly error: QmpError }
  /** Attempt `attempt` (from 1) failed; the next follows after `nextDelayMs`, or none when it was the last. */
  | {
      readonly type: 'attempt-failed';
      readonly attempt: number;
      readonly error: QmpError;
      readonly nextDelayMs: number | undefined;
    }
  /** Attempt `attempt` connected, greeted and negotiated: `greeting` is the new server's. */
  | { readonly type: 'reconnected'; readonly attempt: number; readonly greeting: QmpGreeting }
  /** `maxAttempts` failed: the client is closed with `error`, the last attempt's. */
  | { readonly type: 'gave-up'; readonly attempts: number; readonly error: QmpError };

/** Exponential backoff with a ceiling and an optional number of attempts, checked once. */
export class ReconnectPolicy {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly factor: number;
  readonly maxAttempts: number;

  constructor(options: QmpReconnectOptions | true) {
    const o = options === true ? {} : options;
    this.initialDelayMs = o.initialDelayMs ?? RECONNECT_INITIAL_DELAY_MS;
    this.maxDelayMs = o.maxDelayMs ?? Math.max(RECONNECT_MAX_DELAY_MS, this.initialDelayMs);
    this.factor = o.factor ?? RECONNECT_FACTOR;
    this.maxAttempts = o.maxAttempts ?? Number.POSITIVE_INFINITY;
    if (!(this.initialDelayMs >= 0)) throw new QmpUsageError('reconnect.initialDelayMs must be 0 or more');
    if (!(this.maxDelayMs >= this.initialDelayMs))
      throw new QmpUsageError('reconnect.maxDelayMs must be at least initialDelayMs');
    if (!(this.factor >= 1)) throw new QmpUsageError('reconnect.factor must be at least 1');
    if (
      !(this.maxAttempts >= 1) ||
      !(Number.isInteger(this.maxAttempts) || this.maxAttempts === Number.POSITIVE_INFINITY)
    )
      throw new QmpUsageError('reconnect.maxAttempts must be a whole number of at least 1');
  }

  /** The wait before attempt `attempt` (from 1), or undefined when no such attempt is allowed. */
  delayBefore(attempt: number): number | undefined {
    if (attempt > this.maxAttempts) return undefined;
    return Math.min(this.maxDelayMs, this.initialDelayMs * this.factor ** (attempt - 1));
  }
}
