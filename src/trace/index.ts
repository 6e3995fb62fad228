// trace/: util.debuglog('qmpkit'), diagnostics_channel names and the JSON-lines transcript recorder.
// Imports only node:* and errors/.
export { debug, type QmpTraceMessage, TRACE_CHANNELS, traceAnomaly, traceIn, traceOut } from './trace.js';
export { TranscriptLog } from './transcript-log.js';
