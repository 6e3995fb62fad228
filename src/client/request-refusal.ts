import { type QmpError, QmpLimitError, QmpStateError, QmpUsageError } from '../errors/qmp-error.js';
import type { QmpRunstate } from './runstate.js';

/** What decides whether a session takes a command now. */
export interface RefusalContext {
  readonly state: QmpRunstate;
  readonly closeReason: QmpError | undefined;
  readonly oobEnabled: boolean;
  readonly label: string;
}

/**
 * Why a command cannot be sent now, or undefined: the session is not ready, the name is not a
 * non-empty string (`anyName` lets a pass-through tool send what its own client sent), or exec-oob
 * was asked without OOB negotiated.
 */
export function refusal(ctx: RefusalContext, name: string, oob: boolean, anyName = false): QmpError | undefined {
  const state = ctx.state;
  if (state !== 'ready') {
    const code = state === 'closed' || state === 'closing' ? 'QMP_ERR_CLOSED' : 'QMP_ERR_STATE';
    const why =
      code === 'QMP_ERR_CLOSED'
        ? `the client is ${state}${ctx.closeReason ? ` (${ctx.closeReason.message})` : ''}`
        : `the client is still ${state}`;
    return new QmpStateError(code, `Cannot execute ${name}: ${why}`, state);
  }
  if (typeof name !== 'string' || (name === '' && !anyName))
    return new QmpUsageError('execute: the command name must be a non-empty string');
  if (oob && !ctx.oobEnabled) {
    return new QmpStateError('QMP_ERR_STATE', `exec-oob ${name}: OOB was not negotiated with ${ctx.label}`, state);
  }
  return undefined;
}

/** The refusal of a command past `maxPendingCommands`. */
export function pendingLimitError(name: string, maxPending: number): QmpLimitError {
  return new QmpLimitError(
    `Cannot execute ${name}: ${maxPending} commands are already pending (raise the maxPendingCommands option)`,
    'maxPendingCommands',
    maxPending,
  );
}
