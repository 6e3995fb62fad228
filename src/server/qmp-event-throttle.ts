/** How one event type is rate-limited. */
export interface QmpEventThrottleRule {
  /** `data` member whose value separates keys (`node-name`, `id`, `qom-path`); absent: one key per event type. */
  readonly key?: string;
  /** Interval in ms; absent: the server's `eventThrottleMs`. */
  readonly intervalMs?: number;
}

/**
 * QEMU 7.2's rate-limited events (`monitor_qapi_event_conf` in monitor/monitor.c): all 1 s.
 * `BLOCK_IO_ERROR` and `HV_BALLOON_STATUS_REPORT` are throttled only after 7.2, so not here.
 */
export const QEMU_7_2_EVENT_THROTTLE: Readonly<Record<string, QmpEventThrottleRule>> = Object.freeze({
  RTC_CHANGE: {},
  WATCHDOG: {},
  BALLOON_CHANGE: {},
  QUORUM_REPORT_BAD: { key: 'node-name' },
  QUORUM_FAILURE: {},
  VSERPORT_CHANGE: { key: 'id' },
  MEMORY_DEVICE_SIZE_CHANGE: { key: 'qom-path' },
});

interface KeyState {
  timer: ReturnType<typeof setTimeout>;
  pending: unknown;
  hasPending: boolean;
}

function memberOf(data: unknown, name: string): unknown {
  if (data instanceof Map) return data.get(name);
  if (typeof data === 'object' && data !== null) return (data as Record<string, unknown>)[name];
  return undefined;
}

function keyText(v: unknown): string {
  // Only strings are used as keys by QEMU; anything else still needs a stable, distinct text.
  return typeof v === 'string' ? `s${v}` : `x${String(v)}`;
}

/**
 * QEMU's event rate limiter: the first event of a key goes out at once and starts a timer; later
 * ones replace each other until the timer fires, then the latest goes out (with its own timestamp)
 * and the timer restarts; a timer that fires with nothing kept drops the key.
 */
export class QmpEventThrottle {
  readonly #rules: Readonly<Record<string, QmpEventThrottleRule>>;
  readonly #intervalMs: number;
  readonly #send: (message: unknown) => void;
  readonly #states = new Map<string, KeyState>();

  constructor(
    rules: Readonly<Record<string, QmpEventThrottleRule>>,
    intervalMs: number,
    send: (message: unknown) => void,
  ) {
    this.#rules = rules;
    this.#intervalMs = intervalMs;
    this.#send = send;
  }

  /** Sends `message` (event `event` with `data`) now, later, or never (replaced), as QEMU would. */
  offer(event: string, data: unknown, message: unknown): void {
    const rule = Object.hasOwn(this.#rules, event) ? this.#rules[event] : undefined;
    const interval = rule?.intervalMs ?? this.#intervalMs;
    if (rule === undefined || interval <= 0) {
      this.#send(message);
      return;
    }
    const key = rule.key === undefined ? event : `${event}\0${keyText(memberOf(data, rule.key))}`;
    const state = this.#states.get(key);
    if (state !== undefined) {
      state.pending = message;
      state.hasPending = true;
      return;
    }
    this.#send(message);
    this.#arm(key, interval);
  }

  #arm(key: string, interval: number): void {
    const state: KeyState = {
      timer: setTimeout(() => this.#fire(key, interval), interval),
      pending: undefined,
      hasPending: false,
    };
    // A kept event must not hold the process open on its own; the server's sockets do that.
    state.timer.unref?.();
    this.#states.set(key, state);
  }

  #fire(key: string, interval: number): void {
    const state = this.#states.get(key);
    if (state === undefined) return;
    this.#states.delete(key);
    if (!state.hasPending) return;
    this.#send(state.pending);
    this.#arm(key, interval);
  }

  /** Number of keys with a running timer (for tests and diagnostics). */
  get activeKeys(): number {
    return this.#states.size;
  }

  /** Stops all timers; kept events are dropped (QEMU drops them at exit too). */
  close(): void {
    for (const s of this.#states.values()) clearTimeout(s.timer);
    this.#states.clear();
  }
}
