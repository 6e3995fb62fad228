// server/: the QMP server framework, the mirror of the client: accept loop (one client per monitor),
// greeting, negotiation gate, dispatch with QEMU's checks and exact errors, schema argument checking,
// id echo, in-band queue and OOB, events with QEMU's timestamps and rate limits, recovery from
// malformed input. Imports transport, protocol, wire, schema, errors, limits, trace; never simulator,
// proxy, launcher, client or cli.
export { checkRequest, isOobRequest, type QmpCheckedRequest, type QmpRejectedRequest } from './check-request.js';
export { QEMU_7_2_EVENT_THROTTLE, QmpEventThrottle, type QmpEventThrottleRule } from './qmp-event-throttle.js';
export { QmpMonitor, type QmpMonitorEvents } from './qmp-monitor.js';
export { QmpServer } from './qmp-server.js';
export type {
  QmpCommandContext,
  QmpCommandHandler,
  QmpEmitParams,
  QmpFallbackHandler,
  QmpHandlerArgs,
  QmpHandlerOf,
  QmpHandlerReturn,
  QmpNumberKind,
  QmpRegisterOptions,
  QmpServeOptions,
  QmpServerOptions,
  QmpServerSchema,
} from './qmp-server-options.js';
export { QmpServerSession, type QmpServerSessionEvents } from './qmp-server-session.js';
export { numberKind, toHandlerValue, toSchemaValue } from './to-handler-value.js';
