import type { JsonObject, JsonValue } from '../wire/json-value.js';
import type { QmpTimestamp } from './messages.js';

/** What a typed command map says about one command. `args` is `undefined` for commands without arguments. */
export interface QmpCommandSpec {
  args: object | undefined;
  returns: unknown;
}

/**
 * Constraint for a command map (name → {args, returns}), such as the generated `Commands` of
 * `qmpkit/qapi/7.2`. Written as a mapped constraint so interfaces (which have no index signature)
 * satisfy it.
 */
export type QmpCommandMap<C> = { [K in keyof C]: QmpCommandSpec };

/**
 * Constraint for an event map (name → data). `undefined` marks an event without members: QEMU
 * sends it without `data`. Any other type means QEMU always sends `data` (an event with members
 * gets a `data` object even when every member is optional). A type that includes `undefined`
 * besides an object means `data` may or may not be there.
 */
export type QmpEventMap<E> = { [K in keyof E]: object | undefined };

/** The map used when no types are given: any command, JSON arguments, JSON return. */
export interface UntypedCommands {
  [name: string]: { args: JsonObject | undefined; returns: JsonValue };
}

/** The event map used when no types are given: `data` may or may not be there. */
export interface UntypedEvents {
  [name: string]: JsonObject | undefined;
}

/** Arguments type of a command spec. */
export type QmpArgsOf<S> = S extends { args: infer A } ? A : never;

/** Return type of a command spec. */
export type QmpReturnsOf<S> = S extends { returns: infer R } ? R : never;

/**
 * What `execute`'s name must also be: `unknown` for a command of the map; for one a compatibility
 * range (`Compat<>` of qmpkit/qapi) lacks, its `NotInQemu` marker, so that the compiler's message
 * names the release that lacks it.
 */
export type QmpNameCheck<S> = S extends { args: infer A extends { readonly 'not in QEMU': unknown } } ? A : unknown;

/** `true` when `T` is a union of two or more types. */
type IsUnion<T, U = T> = T extends unknown ? ([U] extends [T] ? false : true) : never;

/**
 * The parameter list of `execute` for one command: the arguments are optional when the command has
 * none, all of its members are optional, or the map allows `undefined` (untyped maps).
 *
 * When `S` is a union of specs the name was not one command: either a name outside the map (the
 * compiler then falls back to every name) or a union of names. The list is then loose (arguments
 * optional) so that the compiler reports the name itself ("'query-statuss' is not assignable to
 * ...") rather than a count of arguments.
 */
export type QmpExecuteParams<S, O> = [S] extends [{ args: { readonly 'not in QEMU': unknown } }]
  ? [args?: never, options?: O]
  : true extends IsUnion<S>
    ? [args?: QmpArgsOf<S>, options?: O]
    : QmpArgsOf<S> extends undefined
      ? [args?: Record<string, never> | undefined, options?: O]
      : undefined extends QmpArgsOf<S>
        ? [args?: QmpArgsOf<S>, options?: O]
        : Partial<QmpArgsOf<S>> extends QmpArgsOf<S>
          ? [args?: QmpArgsOf<S>, options?: O]
          : [args: QmpArgsOf<S>, options?: O];

/**
 * The `data` of event `K` in map `E`: its members where QEMU always sends them, `undefined` for an
 * event without members.
 */
export type QmpEventDataOf<E, K extends keyof E> = [E[K]] extends [undefined] ? undefined : Exclude<E[K], undefined>;

/** The same as {@link QmpEventDataOf} (the name the client's option types use). */
export type EventData<E, K extends keyof E> = QmpEventDataOf<E, K>;

/** An event without members: QEMU sends no `data` (`{"event": "STOP", "timestamp": ...}`). */
export interface QmpDatalessEvent<K> {
  event: K;
  data?: undefined;
  timestamp: QmpTimestamp;
}

/** An event with members: QEMU always sends `data`. */
export interface QmpDataEvent<K, D> {
  event: K;
  data: D;
  timestamp: QmpTimestamp;
}

/** An event whose `data` may or may not be there (untyped maps). */
export interface QmpMaybeDataEvent<K, D> {
  event: K;
  data?: D;
  timestamp: QmpTimestamp;
}

/**
 * An event as delivered, typed by its name: `data` is required where the map says QEMU always
 * sends it, absent for events without members. For a union of names it is the discriminated union
 * of those events (narrow it on `event`).
 */
export type QmpEventOf<E, K extends keyof E> = K extends keyof E
  ? [E[K]] extends [undefined]
    ? QmpDatalessEvent<K>
    : undefined extends E[K]
      ? QmpMaybeDataEvent<K, Exclude<E[K], undefined>>
      : QmpDataEvent<K, E[K]>
  : never;
