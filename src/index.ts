// qmpkit: the TypeScript toolkit for the QEMU Machine Protocol. The root entry re-exports the client
// side (client, transport, protocol, errors, limits); servers, the simulator, the schema toolkit,
// codegen, the launcher and the proxy have their own subpath exports.
export * from './errors/index.js';
export * from './limits.js';
export { type QmpTraceMessage, TRACE_CHANNELS } from './trace/index.js';
