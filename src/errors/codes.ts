/**
 * The table of stable error codes. Every `QmpError` carries one of these in `code`; the CLI maps
 * them to exit codes and `docs/errors.md` lists them all (a test keeps the two in step).
 */
export const QMP_ERROR_CODES = {
  QMP_ERR_CONNECT: 'Could not connect to the address (ENOENT, ECONNREFUSED, EACCES, TLS handshake, ...).',
  QMP_ERR_CONNECT_TIMEOUT: 'The connection, greeting or negotiation did not complete within `timeoutMs`.',
  QMP_ERR_DISCONNECTED:
    'The connection was lost; a command in flight may or may not have run in QEMU. Also ends event iterators and waits.',
  QMP_ERR_CLOSED: 'The client was closed by the caller before or while the call was made.',
  QMP_ERR_STATE: 'The call is not allowed in the current runstate (e.g. `execute` while negotiating).',
  QMP_ERR_PROTOCOL: 'The peer broke the QMP protocol: bad greeting, a message that is not a QMP message, ...',
  QMP_ERR_JSON: 'The bytes received are not valid JSON (client side) or QEMU-dialect JSON (server side).',
  QMP_ERR_LIMIT: 'A configured limit (message bytes, nesting depth, pending commands, queue length) was exceeded.',
  QMP_ERR_TIMEOUT: 'A call did not complete within its `timeoutMs`. The command may still run in QEMU.',
  QMP_ERR_ABORTED: "The call's `AbortSignal` fired. The command may still run in QEMU if it was already sent.",
  QMP_ERR_COMMAND: "QEMU answered the command with an error; `errorClass` and `desc` are QEMU's own words.",
  QMP_ERR_USAGE: 'The API or a command line was used wrongly: bad address, bad option, bad argument.',
  QMP_ERR_VALIDATION: 'Arguments do not match the QAPI schema (checked before sending, or by the server).',
  QMP_ERR_SCHEMA: 'A QAPI schema (introspection or source files) could not be read.',
  QMP_ERR_JOB:
    "A QEMU job (block job, blockdev-create, ...) failed or was cancelled; `jobError` is the job's own error text.",
  QMP_ERR_MIGRATION: "An outgoing migration ended as failed or cancelled; `errorDesc` is QEMU's own text when given.",
  QMP_ERR_LAUNCH: 'QEMU could not be started or exited early; the error carries its exit status and stderr tail.',
  QMP_ERR_RECORDING: 'A recorded QMP session (a transcript to replay) could not be read: the error names the line.',
  QMP_ERR_FD_UNAVAILABLE:
    'File descriptors cannot be passed: the transport is not a unix socket, or the native addon is not built (`reason` says which).',
  QMP_ERR_INTERNAL:
    'A bug in qmpkit: an internal invariant broke (e.g. an impossible runstate transition). Please report it.',
} as const;

/** One of the stable error codes. */
export type QmpErrorCode = keyof typeof QMP_ERROR_CODES;
