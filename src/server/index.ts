// server/: the QMP server framework, the mirror of the client. One request path: a monitor or
// `serve()` accepts a connection → its session reads, splits with QEMU's parser and queues →
// the dispatch strategy picks what runs → the dispatcher checks, calls the handler and writes the
// reply. Imports transport, protocol, wire, schema, errors, limits, trace; never simulator, proxy,
// launcher, client or cli.
export {
  pipelinedDispatch,
  type QmpDispatchStrategy,
  type QmpPipelinedDispatchOptions,
  qemuDispatch,
} from './dispatch-strategies.js';
export { QEMU_7_2_EVENT_THROTTLE, type QmpEventThrottleRule } from './qmp-event-throttle.js';
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
  QmpServerHandle,
  QmpServerOptions,
  QmpServerSchema,
  QmpServerSession,
} from './types.js';
