import type { JsonObject, JsonValue } from '../wire/json-value.js';
import type { QmpEvent } from './messages.js';

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

/** Constraint for an event map (name → data, `undefined` for events without data). */
export type QmpEventMap<E> = { [K in keyof E]: object | undefined };

/** The map used when no types are given: any command, JSON arguments, JSON return. */
export interface UntypedCommands {
  [name: string]: { args: JsonObject | undefined; returns: JsonValue };
}

/** The event map used when no types are given. */
export interface UntypedEvents {
  [name: string]: JsonObject | undefined;
}

/** Arguments type of a command spec. */
export type QmpArgsOf<S> = S extends { args: infer A } ? A : never;

/** Return type of a command spec. */
export type QmpReturnsOf<S> = S extends { returns: infer R } ? R : never;

/**
 * The parameter list of `execute` for one command: the arguments are optional when the command has
 * none or all of its members are optional.
 */
export type QmpExecuteParams<S, O> =
  QmpArgsOf<S> extends undefined
    ? [args?: Record<string, never> | undefined, options?: O]
    : Partial<QmpArgsOf<S>> extends QmpArgsOf<S>
      ? [args?: QmpArgsOf<S>, options?: O]
      : [args: QmpArgsOf<S>, options?: O];

/** The data type of event `K` in event map `E` (a plain JSON object where the map says none). */
export type EventData<E, K extends keyof E> = E[K] extends undefined ? JsonObject : E[K];

/** An event as delivered, typed by its name. */
export type QmpEventOf<E, K extends keyof E> = QmpEvent<EventData<E, K>> & { event: K };
