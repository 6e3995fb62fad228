// client/: the QMP client. QmpClient (typed facade) -> QmpSession (greeting, negotiation, runstate,
// send and reply paths, the end of the session) -> RequestTracker (ids from IdAllocator, pending
// calls, in-band window, late replies) -> transport. Also the event hub, deadlines and the check of
// requests against QEMU's input limits, and the job and migration helpers (runJob, migrate).
// Imports transport, protocol, wire, schema, errors, limits, trace and generated qapi types; never
// server, simulator, proxy, launcher or cli.
export type { EventData, QmpEventOf } from '../protocol/command-map.js';
export {
  eventMatches,
  type ListenerErrorHandler,
  type QmpEventIterator,
  type QmpEventMatch,
  type QmpEventsOptions,
  type QmpWaitOptions,
} from './event-hub.js';
export { LISTENER_ERROR_CHANNEL, type QmpListenerErrorMessage } from './listener-errors.js';
export { migrate, type QmpMigrateOptions, type QmpWaitMigrationOptions, waitMigration } from './migrate.js';
export type {
  QmpAddedFd,
  QmpAddFdOptions,
  QmpClientOptions,
  QmpCloseFdsetOptions,
  QmpDeprecationMode,
  QmpExecuteOptions,
  QmpRequestOptions,
  QmpSessionOptions,
} from './options.js';
export { QmpClient } from './qmp-client.js';
export { type QmpAcceptOptions, QmpListener, type QmpListenerOptions } from './qmp-listener.js';
export type { QmpReconnectEvent, QmpReconnectOptions } from './reconnect-policy.js';
export { checkValueLimits } from './request-limits.js';
export {
  type QmpJobResult,
  type QmpJobStatus,
  type QmpWaitJobOptions,
  runJob,
  waitJob,
} from './run-job.js';
export type { QmpRunstate } from './runstate.js';
export { type QmpSchemaMessage, type QmpSchemaSource, SCHEMA_CHANNEL } from './schema-source.js';
export { QmpSession } from './session.js';
