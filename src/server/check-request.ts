import { QEMU_PROTOCOL_ERRORS } from '../protocol/index.js';
import { type QValue, qdictOrder } from '../wire/index.js';

/** A request that passed QEMU's member checks (qmp_dispatch_check_obj). */
export interface QmpCheckedRequest {
  readonly ok: true;
  readonly command: string;
  /** Sent as `exec-oob`. */
  readonly oob: boolean;
  /** `arguments`, or an empty map when absent. */
  readonly args: Map<string, QValue>;
  /** The `id` member (`undefined` when absent; `null` is a present id). */
  readonly id: QValue | undefined;
}

/** A request QEMU refuses before looking up the command. */
export interface QmpRejectedRequest {
  readonly ok: false;
  /** GenericError desc, QEMU's exact text. */
  readonly desc: string;
  readonly id: QValue | undefined;
}

/** True when QEMU would run this request at once, bypassing the in-band queue (`qmp_is_oob`). */
export function isOobRequest(value: QValue): boolean {
  return value instanceof Map && value.has('exec-oob') && !value.has('execute');
}

/**
 * QEMU's request checks in its order: not an object, then each member in QDict hash order (which is
 * why `execute` + `exec-oob` reports "'execute' clashes with 'exec-oob'"), then a missing
 * `execute`. `exec-oob` is a known member only when OOB is enabled on the session.
 */
export function checkRequest(value: QValue, allowOob: boolean): QmpCheckedRequest | QmpRejectedRequest {
  if (!(value instanceof Map)) return { ok: false, desc: QEMU_PROTOCOL_ERRORS.notObject, id: undefined };
  const id = value.get('id');
  let execKey: string | undefined;
  for (const key of qdictOrder([...value.keys()])) {
    const member = value.get(key);
    if (key === 'execute' || (key === 'exec-oob' && allowOob)) {
      if (typeof member !== 'string') return { ok: false, desc: QEMU_PROTOCOL_ERRORS.memberNotString(key), id };
      if (execKey !== undefined) return { ok: false, desc: QEMU_PROTOCOL_ERRORS.clashes(key, execKey), id };
      execKey = key;
    } else if (key === 'arguments') {
      if (!(member instanceof Map)) return { ok: false, desc: QEMU_PROTOCOL_ERRORS.argumentsNotObject, id };
    } else if (key !== 'id') {
      return { ok: false, desc: QEMU_PROTOCOL_ERRORS.unexpectedMember(key), id };
    }
  }
  if (execKey === undefined) return { ok: false, desc: QEMU_PROTOCOL_ERRORS.lacksExecute, id };
  const args = value.get('arguments');
  return {
    ok: true,
    command: value.get(execKey) as string,
    oob: execKey === 'exec-oob',
    args: args instanceof Map ? args : new Map(),
    id,
  };
}
