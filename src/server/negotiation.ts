import { QEMU_PROTOCOL_ERRORS } from '../protocol/index.js';
import type { QValue } from '../wire/index.js';

// `qmp_capabilities {enable?: [QMPCapability]}`: the only capability enum value QEMU knows.
const KNOWN_CAPABILITIES: readonly string[] = ['oob'];

/** A session's negotiation state, as `qmp_capabilities` reads and switches it. */
export interface QmpNegotiable {
  readonly negotiated: boolean;
  readonly offeredCapabilities: readonly string[];
  setNegotiated(oob: boolean): void;
}

/**
 * QEMU's `qmp_capabilities` (monitor/qmp-cmds-control.c): its argument checks in QEMU's order,
 * then the switch to command mode. Returns the error, or `undefined` once the session switched.
 */
export function negotiate(
  session: QmpNegotiable,
  args: ReadonlyMap<string, QValue>,
): { errorClass: string; desc: string } | undefined {
  const generic = (desc: string): { errorClass: string; desc: string } => ({ errorClass: 'GenericError', desc });
  const enable = args.get('enable');
  const wanted: string[] = [];
  if (enable !== undefined) {
    if (!Array.isArray(enable)) return generic("Invalid parameter type for 'enable', expected: array");
    for (const [i, cap] of enable.entries()) {
      if (typeof cap !== 'string') return generic(`Invalid parameter type for 'enable[${i}]', expected: string`);
      // QEMU names list elements 'null' in this message.
      if (!KNOWN_CAPABILITIES.includes(cap)) return generic(`Parameter 'null' does not accept value '${cap}'`);
      wanted.push(cap);
    }
  }
  for (const key of args.keys()) if (key !== 'enable') return generic(`Parameter '${key}' is unexpected`);
  if (session.negotiated) return { errorClass: 'CommandNotFound', desc: QEMU_PROTOCOL_ERRORS.negotiationComplete };
  const missing = wanted.filter((c) => !session.offeredCapabilities.includes(c));
  if (missing.length > 0) return generic(QEMU_PROTOCOL_ERRORS.capabilityNotAvailable(missing));
  session.setNegotiated(wanted.includes('oob'));
  return undefined;
}
