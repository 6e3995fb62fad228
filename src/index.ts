// qmpkit: the TypeScript toolkit for the QEMU Machine Protocol. The root entry exports what a client
// user needs: the client and its session, options and event types, errors, addresses, QMP message
// types, trace channel names, the JSON helpers for values sent, and the limits that are client
// option defaults. Servers, the simulator, the schema toolkit, codegen, the launcher, the proxy and
// the wire internals have their own subpath exports.

export {
  type EventData,
  eventMatches,
  LISTENER_ERROR_CHANNEL,
  type ListenerErrorHandler,
  migrate,
  type QmpAcceptOptions,
  type QmpAddedFd,
  type QmpAddFdOptions,
  QmpClient,
  type QmpClientOptions,
  type QmpCloseFdsetOptions,
  type QmpDeprecationMode,
  type QmpEventIterator,
  type QmpEventMatch,
  type QmpEventOf,
  type QmpEventsOptions,
  type QmpExecuteOptions,
  type QmpJobResult,
  type QmpJobStatus,
  QmpListener,
  type QmpListenerErrorMessage,
  type QmpListenerOptions,
  type QmpMigrateOptions,
  type QmpReconnectEvent,
  type QmpReconnectOptions,
  type QmpRequestOptions,
  type QmpRunstate,
  type QmpSchemaMessage,
  type QmpSchemaSource,
  QmpSession,
  type QmpSessionOptions,
  type QmpWaitJobOptions,
  type QmpWaitMigrationOptions,
  type QmpWaitOptions,
  runJob,
  SCHEMA_CHANNEL,
  waitJob,
  waitMigration,
} from './client/index.js';
export * from './errors/index.js';
export {
  CLIENT_CLOSE_TIMEOUT_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  MAX_DEPTH,
  MAX_FDS_PER_REQUEST,
  MAX_MESSAGE_BYTES,
  MAX_PENDING_COMMANDS,
  MAX_QUEUED_CONNECTIONS,
  MAX_QUEUED_EVENTS,
  MAX_QUEUED_REQUESTS,
  RECONNECT_FACTOR,
  RECONNECT_INITIAL_DELAY_MS,
  RECONNECT_MAX_DELAY_MS,
} from './limits.js';
export type {
  QmpArgsOf,
  QmpCommandMap,
  QmpCommandSpec,
  QmpEventMap,
  QmpExecuteParams,
  QmpReturnsOf,
  UntypedCommands,
  UntypedEvents,
} from './protocol/command-map.js';
export { QMP_ERROR_CLASSES, type QmpKnownErrorClass } from './protocol/error-classes.js';
export { isErrorReply, isEvent, isGreeting, isReturn } from './protocol/guards.js';
export type {
  QmpCapability,
  QmpErrorBody,
  QmpErrorReply,
  QmpEvent,
  QmpGreeting,
  QmpId,
  QmpReturn,
  QmpServerMessage,
  QmpTimestamp,
  QmpVersionInfo,
  QmpVersionTriple,
} from './protocol/messages.js';
export { type QmpTraceMessage, TRACE_CHANNELS, TranscriptLog } from './trace/index.js';
export { formatAddress, parseAddress, type QmpAddress, type QmpAddressOptions } from './transport/address.js';
export type { QmpTlsOptions } from './transport/connect.js';
export { fdPassingSupport } from './transport/fd-addon.js';
export { decodeJson, encodeJson, type JsonObject, type JsonValue } from './wire/index.js';
