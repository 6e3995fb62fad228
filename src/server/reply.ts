import { QmpCommandError } from '../errors/index.js';
import { traceAnomaly } from '../trace/index.js';
import type { QValue } from '../wire/index.js';

/** A request's reply and what runs around its writing. */
export interface QmpOutcome {
  readonly reply: Record<string, unknown>;
  /** `afterReply` callbacks: run once the transport took the reply. */
  readonly after: readonly (() => void)[];
  /** `onReplyWritten` callbacks: run right after the reply is queued on the connection. */
  readonly written: readonly (() => void)[];
}

/** Where a reply goes: the session's writer. */
export interface QmpReplySink {
  readonly label: string;
  writeMessage(message: unknown, onFlushed?: () => void): void;
}

const NONE: readonly (() => void)[] = [];

export function errorReply(errorClass: string, desc: string, id: QValue | undefined): Record<string, unknown> {
  // QEMU inserts `error`, then `id`; its writer prints `id` first (hash order).
  const reply: Record<string, unknown> = { error: { class: errorClass, desc } };
  if (id !== undefined) reply['id'] = id;
  return reply;
}

export function returnReply(value: unknown, id: QValue | undefined): Record<string, unknown> {
  const reply: Record<string, unknown> = { return: value === undefined ? {} : value };
  if (id !== undefined) reply['id'] = id;
  return reply;
}

/** An outcome with no callbacks (protocol errors, `qmp_capabilities`). */
export function bare(reply: Record<string, unknown>): QmpOutcome {
  return { reply, after: NONE, written: NONE };
}

/** Turns anything a handler threw into QEMU's `{class, desc}`. */
export function describeThrown(err: unknown): { errorClass: string; desc: string } {
  if (err instanceof QmpCommandError) return { errorClass: err.errorClass, desc: err.desc };
  if (err instanceof Error) return { errorClass: 'GenericError', desc: err.message };
  return { errorClass: 'GenericError', desc: String(err) };
}

function runAll(sink: QmpReplySink, fns: readonly (() => void)[], what: string): void {
  for (const fn of fns) {
    try {
      fn();
    } catch (err) {
      traceAnomaly('server', sink.label, `${what} callback threw: ${String(err)}`, err);
    }
  }
}

/**
 * Writes a reply, then runs its `onReplyWritten` callbacks; its `afterReply` callbacks run once the
 * transport took it. A return value QEMU's writer cannot print becomes QEMU's error for it.
 */
export function writeReply(sink: QmpReplySink, outcome: QmpOutcome): void {
  const after = outcome.after;
  const flushed = after.length > 0 ? (): void => runAll(sink, after, 'afterReply') : undefined;
  try {
    sink.writeMessage(outcome.reply, flushed);
  } catch (err) {
    const id = outcome.reply['id'] as QValue | undefined;
    sink.writeMessage(errorReply('GenericError', `Invalid return value: ${describeThrown(err).desc}`, id), flushed);
  }
  if (outcome.written.length > 0) runAll(sink, outcome.written, 'onReplyWritten');
}
