import { QmpConnectionError, type QmpError, QmpStateError } from '../errors/qmp-error.js';
import { compactJsonText, jsonMemberText } from '../wire/json-text.js';
import type { JsonObject } from '../wire/json-value.js';
import type { PendingCall } from './request-tracker.js';

/**
 * The error a call left pending gets when the session ends with `base`: whether it may have run
 * depends on whether it was written.
 */
export function endedCallError(
  call: Pick<PendingCall, 'command' | 'written'>,
  base: QmpError | undefined,
  label: string,
): QmpError {
  if (base instanceof QmpStateError) {
    return new QmpStateError(
      'QMP_ERR_CLOSED',
      `${call.command}: the client was closed${call.written ? '; the command may or may not have run' : ' before it was sent'}`,
      'closed',
    );
  }
  if (base instanceof QmpConnectionError || base === undefined) {
    const cause = base?.message ?? `the connection to ${label} ended`;
    return new QmpConnectionError(
      'QMP_ERR_DISCONNECTED',
      call.written
        ? `${call.command}: ${cause}; the command may or may not have run`
        : `${call.command}: ${cause} before the command was sent; it did not run`,
      { address: label, syscallCode: base?.syscallCode, ...(base ? { cause: base } : {}) },
    );
  }
  return base;
}

/**
 * The text of `return` in the reply `text` (decoded as `msg`). QEMU writes `{"return": X, "id": N}`,
 * which is cut directly; anything else (another order, pretty=on) is scanned.
 */
export function returnTextOf(text: string, msg: JsonObject): string {
  const head = '{"return": ';
  const id = msg['id'];
  if (text.startsWith(head) && typeof id === 'number') {
    const tail = `, "id": ${id}}`;
    if (text.endsWith(tail)) return text.slice(head.length, text.length - tail.length);
  }
  return compactJsonText(jsonMemberText(text, 'return') ?? 'null');
}

/** JSON.stringify that also takes the bigints of lossless decoding. */
export function excerpt(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)).slice(0, 200);
}
