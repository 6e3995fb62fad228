/** QEMU's error classes (`QapiErrorClass`, qapi/error.json): the same five in 7.2 and master. */
export const QMP_ERROR_CLASSES = [
  'GenericError',
  'CommandNotFound',
  'DeviceNotActive',
  'DeviceNotFound',
  'KVMMissingCap',
] as const;

/** One of QEMU's known error classes. */
export type QmpKnownErrorClass = (typeof QMP_ERROR_CLASSES)[number];

/** Fixed protocol-level error texts of QEMU 7.2 (monitor/qmp.c, qapi/qmp-dispatch.c). */
export const QEMU_PROTOCOL_ERRORS = {
  notObject: 'QMP input must be a JSON object',
  lacksExecute: "QMP input lacks member 'execute'",
  memberNotString: (m: string): string => `QMP input member '${m}' must be a string`,
  clashes: (second: string, first: string): string => `QMP input member '${second}' clashes with '${first}'`,
  argumentsNotObject: "QMP input member 'arguments' must be an object",
  unexpectedMember: (m: string): string => `QMP input member '${m}' is unexpected`,
  commandNotFound: (c: string): string => `The command ${c} has not been found`,
  noOob: (c: string): string => `The command ${c} does not support OOB`,
  negotiationRequired: "Expecting capabilities negotiation with 'qmp_capabilities'",
  negotiationComplete: 'Capabilities negotiation is already complete, command ignored',
  capabilityNotAvailable: (caps: readonly string[]): string => `Capability ${caps.join(', ')} not available`,
} as const;
