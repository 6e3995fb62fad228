// The errors a session makes up itself when its connection does not give it one to pass on.
import { QmpConnectionError, QmpTimeoutError } from '../errors/qmp-error.js';

/** The connection to `label` was lost, with the socket's error when there was one. */
export function disconnectedError(label: string, err?: NodeJS.ErrnoException): QmpConnectionError {
  const detail = err ? `${err.code ?? 'error'}: ${err.message}` : 'the server closed the connection';
  return new QmpConnectionError('QMP_ERR_DISCONNECTED', `Lost the connection to ${label} (${detail})`, {
    address: label,
    syscallCode: err?.code,
    ...(err ? { cause: err } : {}),
  });
}

/** No greeting within the caller's `timeoutMs`: most often another client holds the monitor. */
export function greetingTimeoutError(label: string, timeoutMs: number): QmpTimeoutError {
  return new QmpTimeoutError(
    `No QMP greeting from ${label} within ${timeoutMs} ms (is another client connected to this monitor? QEMU serves one at a time)`,
    timeoutMs,
    { code: 'QMP_ERR_CONNECT_TIMEOUT' },
  );
}
