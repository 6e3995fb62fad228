// errors/: the QmpError tree and the table of stable error codes. Imports nothing.
export { QMP_ERROR_CODES, type QmpErrorCode } from './codes.js';
export { QmpCommandError, type QmpErrorClass } from './qmp-command-error.js';
export {
  QmpAbortedError,
  QmpConnectionError,
  QmpError,
  type QmpErrorOptions,
  QmpFdPassingError,
  QmpInternalError,
  QmpLaunchError,
  QmpLimitError,
  QmpProtocolError,
  QmpRecordingError,
  QmpSchemaError,
  QmpStateError,
  QmpTimeoutError,
  QmpUsageError,
  QmpValidationError,
} from './qmp-error.js';
export { QmpJobError, QmpMigrationError } from './qmp-job-error.js';
