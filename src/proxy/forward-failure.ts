import { QmpCommandError, QmpConnectionError, QmpLimitError, QmpStateError } from '../errors/index.js';
import type { QmpAuditRecord } from './audit-log.js';

/** How a forwarded command failed: the audit outcome and the error the client is answered with. */
export interface QmpForwardFailure {
  readonly outcome: QmpAuditRecord['outcome'];
  readonly errorClass: string;
  readonly desc: string;
}

/**
 * Sorts an error from the upstream session: QEMU's own error reply (passed on with its class and
 * desc), a request refused before a byte went to QEMU (`refused`), QEMU going away
 * (`disconnected`: the client is then disconnected too), or a fault in the proxy, answered like any
 * failed command.
 */
export function forwardFailure(err: unknown): QmpForwardFailure {
  if (err instanceof QmpCommandError) return { outcome: 'error', errorClass: err.errorClass, desc: err.desc };
  const desc = err instanceof Error ? err.message : String(err);
  if (err instanceof QmpLimitError) return { outcome: 'refused', errorClass: 'GenericError', desc };
  if (err instanceof QmpConnectionError || err instanceof QmpStateError)
    return { outcome: 'disconnected', errorClass: 'GenericError', desc };
  return { outcome: 'error', errorClass: 'GenericError', desc };
}
