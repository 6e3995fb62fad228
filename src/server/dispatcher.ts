import {
  QEMU_PROTOCOL_ERRORS,
  type QmpCommandMap,
  type QmpEventMap,
  type UntypedCommands,
  type UntypedEvents,
} from '../protocol/index.js';
import { traceAnomaly } from '../trace/index.js';
import type { QValue } from '../wire/index.js';
import { checkRequest } from './check-request.js';
import { CAPABILITIES_ENTRY, type QmpCommandTable } from './command-table.js';
import type { QmpDispatchTarget, QmpQueuedInput } from './dispatch-strategies.js';
import { isThenable } from './is-thenable.js';
import { negotiate } from './negotiation.js';
import { bare, describeThrown, errorReply, type QmpOutcome, returnReply, writeReply } from './reply.js';
import type { QmpServerSessionImpl } from './session.js';
import { numberKind, toHandlerValue, toSchemaValue } from './to-handler-value.js';
import type { QmpCommandContext, QmpServerHandle, QmpServerSchema } from './types.js';

/** What the dispatcher needs of its server: the handlers' view of it, and the preconfig flag. */
export interface QmpDispatchServer<E extends QmpEventMap<E>> extends QmpServerHandle<E> {
  readonly preconfig: boolean;
}

// QEMU's preconfig refusal (qmp_command_available in qapi/qmp-dispatch.c).
const preconfigRefused = (name: string): string =>
  `The command '${name}' is permitted only after machine initialization has completed`;

const NO_CALLBACKS: readonly (() => void)[] = [];
/** Marks a command whose call without arguments passes the schema's checks. */
const OK = Symbol('ok');

/**
 * The one place a request is answered, in-band or out-of-band: QEMU's qmp_dispatch. Member checks,
 * the negotiation gate (negotiation mode has a table of its own holding only `qmp_capabilities`),
 * OOB and preconfig checks, argument checking, the handler call and the reply. The dispatch
 * strategy decides when queued requests get here; `exec-oob` requests come at once.
 */
export class QmpDispatcher<C extends QmpCommandMap<C> = UntypedCommands, E extends QmpEventMap<E> = UntypedEvents>
  implements QmpDispatchTarget<QmpServerSessionImpl, QmpOutcome>
{
  readonly #server: QmpDispatchServer<E>;
  readonly #table: QmpCommandTable;
  readonly #schema: QmpServerSchema | undefined;
  /** Per command: the schema's verdict on a call without arguments (`OK`, or QEMU's error text). */
  readonly #noArguments = new Map<string, string | typeof OK>();

  constructor(server: QmpDispatchServer<E>, table: QmpCommandTable, schema: QmpServerSchema | undefined) {
    this.#server = server;
    this.#table = table;
    this.#schema = schema;
  }

  /** A queued input: a request, or a parse error answered in its place in the queue. */
  start(session: QmpServerSessionImpl, input: QmpQueuedInput): QmpOutcome | Promise<QmpOutcome> {
    if ('error' in input) return bare(errorReply('GenericError', input.error, undefined));
    return this.#dispatch(session, input.value);
  }

  deliver(session: QmpServerSessionImpl, outcome: QmpOutcome): void {
    writeReply(session, outcome);
  }

  fault(session: QmpServerSessionImpl, err: unknown): void {
    traceAnomaly('server', session.label, `internal error: ${String(err)}`, err);
    void session.close();
  }

  /**
   * An `exec-oob` request (or one shaped like it): answered at once. A synchronous handler's reply
   * is written before later input is looked at.
   */
  runOob(session: QmpServerSessionImpl, value: QValue): void {
    const outcome = this.#dispatch(session, value);
    if (isThenable(outcome)) {
      outcome.then(
        (o) => writeReply(session, o),
        (err: unknown) => traceAnomaly('server', session.label, `internal error: ${String(err)}`, err),
      );
    } else {
      writeReply(session, outcome);
    }
  }

  #dispatch(session: QmpServerSessionImpl, value: QValue): QmpOutcome | Promise<QmpOutcome> {
    const checked = checkRequest(value, session.oobEnabled);
    if (!checked.ok) return bare(errorReply('GenericError', checked.desc, checked.id));
    const { command, id } = checked;
    const fail = (errorClass: string, desc: string): Record<string, unknown> => {
      // In negotiation mode QEMU replaces the text of every CommandNotFound error.
      const d =
        errorClass === 'CommandNotFound' && !session.negotiated ? QEMU_PROTOCOL_ERRORS.negotiationRequired : desc;
      return errorReply(errorClass, d, id);
    };
    const entry =
      command === 'qmp_capabilities'
        ? CAPABILITIES_ENTRY
        : session.negotiated
          ? this.#table.lookup(command)
          : undefined;
    if (entry === undefined) return bare(fail('CommandNotFound', QEMU_PROTOCOL_ERRORS.commandNotFound(command)));
    if (checked.oob && !entry.allowOob) return bare(fail('GenericError', QEMU_PROTOCOL_ERRORS.noOob(command)));
    if (this.#server.preconfig && !entry.allowPreconfig) return bare(fail('GenericError', preconfigRefused(command)));
    if (entry === CAPABILITIES_ENTRY) {
      const r = negotiate(session, checked.args);
      return bare(r === undefined ? returnReply({}, id) : fail(r.errorClass, r.desc));
    }
    if (entry.validate) {
      const bad = this.#checkArguments(command, checked.args);
      if (bad !== undefined) return bare(fail('GenericError', bad));
    }
    let after: (() => void)[] | undefined;
    let written: (() => void)[] | undefined;
    const ctx: QmpCommandContext<C, E> = {
      session: session.handle,
      server: this.#server,
      command,
      id,
      oob: checked.oob,
      arguments: checked.args,
      signal: session.signal,
      takeFd: () => session.takeFd(),
      afterReply: (fn) => {
        (after ??= []).push(fn);
      },
      onReplyWritten: (fn) => {
        (written ??= []).push(fn);
      },
    };
    const outcome = (reply: Record<string, unknown>): QmpOutcome => ({
      reply,
      after: after ?? NO_CALLBACKS,
      written: written ?? NO_CALLBACKS,
    });
    const failed = (err: unknown): QmpOutcome => {
      const e = describeThrown(err);
      return outcome(fail(e.errorClass, e.desc));
    };
    let result: unknown;
    try {
      result = entry.handler(toHandlerValue(checked.args), ctx as never);
    } catch (err) {
      return failed(err);
    }
    if (isThenable(result)) return Promise.resolve(result).then((v) => outcome(returnReply(v, id)), failed);
    return outcome(returnReply(result, id));
  }

  /** QEMU's argument error for a registered command, or `undefined` when the arguments pass. */
  #checkArguments(command: string, args: Map<string, QValue>): string | undefined {
    const schema = this.#schema;
    if (schema === undefined) return undefined;
    // A call without arguments always gets the same answer from the schema: it is asked once per
    // command (most queries are sent without arguments). Only registered commands get here, so the
    // map holds at most one entry per registered name.
    if (args.size === 0) {
      const known = this.#noArguments.get(command);
      if (known !== undefined) return known === OK ? undefined : known;
      const bad = this.#validate(schema, command, args);
      this.#noArguments.set(command, bad ?? OK);
      return bad;
    }
    return this.#validate(schema, command, args);
  }

  #validate(schema: QmpServerSchema, command: string, args: Map<string, QValue>): string | undefined {
    if (schema.command(command) === undefined) return undefined;
    return schema.validateArguments(command, toSchemaValue(args) as Record<string, unknown>, { numberKind })?.desc;
  }
}
