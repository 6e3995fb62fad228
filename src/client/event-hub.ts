import { QmpLimitError, QmpUsageError } from '../errors/qmp-error.js';
import { MAX_QUEUED_EVENTS } from '../limits.js';
import type { QmpEvent } from '../protocol/messages.js';
import { traceAnomaly } from '../trace/trace.js';
import { Deadline } from './deadline.js';
import { markHandled } from './mark-handled.js';

/**
 * A partial object matched member by member against event data, or a predicate on the event. `Ev`
 * is the event as delivered (the client passes its typed event, whose `data` is required where
 * QEMU always sends it).
 */
export type QmpEventMatch<D, Ev = QmpEvent<D>> = Partial<D> | ((event: Ev) => boolean);

/** Options of `events()`. */
export interface QmpEventsOptions<N extends string, D, Ev = QmpEvent<D>> {
  /** Only these event names (all when absent). */
  names?: readonly N[];
  /** Only events for which this returns true. */
  filter?: (event: Ev) => boolean;
  /** Events buffered while the consumer is slow; past it the oldest is dropped and counted (default {@link MAX_QUEUED_EVENTS}). */
  maxQueuedEvents?: number;
  /** Ends the iteration. */
  signal?: AbortSignal;
}

/** Options of `waitForEvent()`. */
export interface QmpWaitOptions<D, Ev = QmpEvent<D>> {
  /** Partial data (compared member by member, nested objects too) or a predicate on the event. */
  match?: QmpEventMatch<D, Ev>;
  /** Deadline in ms; rejects with `QMP_ERR_TIMEOUT`. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** The async iterator returned by `events()`: also tells how many events it had to drop. */
export interface QmpEventIterator<T> extends AsyncIterableIterator<T> {
  /** Events dropped because the buffer was full. */
  readonly dropped: number;
  /** Events waiting in the buffer. */
  readonly queued: number;
  /**
   * Times a reconnecting client lost its connection while this iterator was open. Events are not
   * replayed: whatever the server sent between the loss and the new session is missing.
   */
  readonly reconnects: number;
}

type AnyEvent = QmpEvent<unknown>;
type EventHandler = (e: AnyEvent, text: string) => void;

function partialMatch(want: unknown, have: unknown): boolean {
  if (want === have) return true;
  if (typeof want !== 'object' || want === null) return false;
  if (typeof have !== 'object' || have === null) return false;
  if (Array.isArray(want)) {
    return Array.isArray(have) && want.length === have.length && want.every((w, i) => partialMatch(w, have[i]));
  }
  for (const [k, v] of Object.entries(want)) {
    if (!partialMatch(v, (have as Record<string, unknown>)[k])) return false;
  }
  return true;
}

/** True when `event` satisfies `match` (a partial data object or a predicate). */
export function eventMatches<D>(event: QmpEvent<D>, match: QmpEventMatch<D> | undefined): boolean {
  if (match === undefined) return true;
  if (typeof match === 'function') return match(event);
  return partialMatch(match, event.data ?? {});
}

class Subscription {
  readonly names: ReadonlySet<string> | undefined;
  readonly filter: ((e: AnyEvent) => boolean) | undefined;
  readonly max: number;
  readonly queue: AnyEvent[] = [];
  dropped = 0;
  reconnects = 0;
  ended = false;
  waiter: ((r: IteratorResult<AnyEvent>) => void) | undefined;

  constructor(names: readonly string[] | undefined, filter: ((e: AnyEvent) => boolean) | undefined, max: number) {
    this.names = names === undefined ? undefined : new Set(names);
    this.filter = filter;
    this.max = max;
  }

  offer(ev: AnyEvent): void {
    if (this.ended) return;
    if (this.names && !this.names.has(ev.event)) return;
    if (this.filter && !this.filter(ev)) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w({ value: ev, done: false });
      return;
    }
    if (this.queue.length >= this.max) {
      this.queue.shift();
      this.dropped++;
      traceAnomaly('client', 'events', `iterator buffer full (${this.max}): dropped the oldest event`);
    }
    this.queue.push(ev);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w({ value: undefined, done: true });
    }
  }
}

/** Called with what a user's event handler threw, and the event it was handling. */
export type ListenerErrorHandler = (error: unknown, event: QmpEvent<unknown>) => void;

/**
 * Delivers events to handlers, bounded iterators and one-shot waiters. A handler that throws does not
 * stop delivery to the others; what it threw goes to `onListenerError` (never an uncaught exception).
 * Iterators only ever resolve; a waiter's promise is marked handled, so a waiter nobody awaits any
 * more cannot become an unhandled rejection when the session ends.
 */
export class EventHub {
  readonly #onListenerError: ListenerErrorHandler;
  readonly #handlers = new Map<string, Set<EventHandler>>();
  readonly #subs = new Set<Subscription>();
  readonly #waiters = new Set<{
    name: string;
    match: QmpEventMatch<unknown> | undefined;
    resolve: (e: AnyEvent) => void;
    reject: (e: Error) => void;
  }>();
  #endedWith: Error | undefined;
  #ended = false;

  constructor(onListenerError: ListenerErrorHandler) {
    this.#onListenerError = onListenerError;
  }

  /** Adds a handler for one event name, or `'*'` for all. */
  on(name: string, handler: EventHandler): void {
    let set = this.#handlers.get(name);
    if (!set) this.#handlers.set(name, (set = new Set()));
    set.add(handler);
  }

  off(name: string, handler: EventHandler): void {
    this.#handlers.get(name)?.delete(handler);
  }

  /** `text` is the event as the server wrote it, handed to handlers as their second argument. */
  dispatch(ev: AnyEvent, text: string): void {
    for (const key of [ev.event, '*']) {
      const set = this.#handlers.get(key);
      if (!set) continue;
      for (const h of [...set]) {
        try {
          h(ev, text);
        } catch (err) {
          traceAnomaly('client', 'events', `event handler threw: ${String(err)}`, err);
          this.#reportListenerError(err, ev);
        }
      }
    }
    for (const s of this.#subs) s.offer(ev);
    for (const w of [...this.#waiters]) {
      if (w.name !== ev.event) continue;
      let ok: boolean;
      try {
        ok = eventMatches(ev, w.match);
      } catch (err) {
        this.#waiters.delete(w);
        w.reject(err instanceof Error ? err : new QmpUsageError(String(err)));
        continue;
      }
      if (ok) {
        this.#waiters.delete(w);
        w.resolve(ev);
      }
    }
  }

  #reportListenerError(err: unknown, ev: AnyEvent): void {
    try {
      this.#onListenerError(err, ev);
    } catch (again) {
      // The reporter itself failed: nothing is left to tell but the trace.
      traceAnomaly('client', 'events', `onListenerError threw: ${String(again)}`, again);
    }
  }

  iterate(options: QmpEventsOptions<string, unknown>): QmpEventIterator<AnyEvent> {
    const max = options.maxQueuedEvents ?? MAX_QUEUED_EVENTS;
    if (!(max >= 1)) throw new QmpLimitError(`maxQueuedEvents must be at least 1 (got ${max})`, 'maxQueuedEvents', max);
    const sub = new Subscription(options.names, options.filter as ((e: AnyEvent) => boolean) | undefined, max);
    if (this.#ended) sub.end();
    else this.#subs.add(sub);
    const signal = options.signal;
    const onAbort = (): void => {
      this.#subs.delete(sub);
      sub.end();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    const finish = (): void => {
      this.#subs.delete(sub);
      signal?.removeEventListener('abort', onAbort);
      sub.end();
    };
    const it: QmpEventIterator<AnyEvent> = {
      get dropped() {
        return sub.dropped;
      },
      get queued() {
        return sub.queue.length;
      },
      get reconnects() {
        return sub.reconnects;
      },
      next: () => {
        const ev = sub.queue.shift();
        if (ev !== undefined) return Promise.resolve({ value: ev, done: false });
        if (sub.ended) {
          signal?.removeEventListener('abort', onAbort);
          return Promise.resolve({ value: undefined, done: true });
        }
        return new Promise<IteratorResult<AnyEvent>>((resolve) => {
          sub.waiter = resolve;
        });
      },
      return: () => {
        finish();
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]() {
        return it;
      },
    };
    return it;
  }

  wait(name: string, options: QmpWaitOptions<unknown>): Promise<AnyEvent> {
    return markHandled(this.#wait(name, options));
  }

  #wait(name: string, options: QmpWaitOptions<unknown>): Promise<AnyEvent> {
    if (this.#ended) return Promise.reject(this.#endedWith ?? new QmpUsageError('the client is closed'));
    return new Promise<AnyEvent>((resolve, reject) => {
      const w = {
        name,
        match: options.match,
        resolve: (e: AnyEvent) => {
          deadline.clear();
          resolve(e);
        },
        reject: (e: Error) => {
          deadline.clear();
          reject(e);
        },
      };
      const deadline = new Deadline(
        `waiting for event ${name}`,
        options.timeoutMs,
        options.signal,
        (err) => {
          this.#waiters.delete(w);
          reject(err);
        },
        `no ${name} event`,
      );
      if (options.signal?.aborted) return;
      this.#waiters.add(w);
    });
  }

  /** The connection was lost and a new session follows: open iterators count a gap. */
  gap(): void {
    for (const s of this.#subs) s.reconnects++;
  }

  /** Ends every iterator (they finish normally) and rejects every waiter with `err`. */
  end(err: Error): void {
    this.#ended = true;
    this.#endedWith = err;
    for (const s of this.#subs) s.end();
    this.#subs.clear();
    for (const w of [...this.#waiters]) w.reject(err);
    this.#waiters.clear();
  }
}
