// trace/: util.debuglog('qmpkit') and diagnostics_channel names. Imports only node:*.
export { debug, type QmpTraceMessage, TRACE_CHANNELS, traceAnomaly, traceIn, traceOut } from './trace.js';
