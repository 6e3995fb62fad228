// protocol/: QMP message shapes and guards (greeting, execute, exec-oob, return, error, event),
// capabilities, QEMU's error classes and fixed protocol error texts. Imports wire, errors, limits.

export type {
  QmpArgsOf,
  QmpCommandMap,
  QmpCommandSpec,
  QmpDataEvent,
  QmpDatalessEvent,
  QmpEventDataOf,
  QmpEventMap,
  QmpEventOf,
  QmpExecuteParams,
  QmpMaybeDataEvent,
  QmpReturnsOf,
  UntypedCommands,
  UntypedEvents,
} from './command-map.js';
export { QEMU_PROTOCOL_ERRORS, QMP_ERROR_CLASSES, type QmpKnownErrorClass } from './error-classes.js';
export { isErrorReply, isEvent, isGreeting, isJsonObject, isReturn, isVersionInfo } from './guards.js';
export type {
  QmpCapability,
  QmpClientMessage,
  QmpCommand,
  QmpErrorBody,
  QmpErrorReply,
  QmpEvent,
  QmpGreeting,
  QmpId,
  QmpOobCommand,
  QmpReturn,
  QmpServerMessage,
  QmpTimestamp,
  QmpVersionInfo,
  QmpVersionTriple,
} from './messages.js';
