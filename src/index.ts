// qmpkit: the TypeScript toolkit for the QEMU Machine Protocol. The root entry re-exports the client
// side (client, transport, protocol, errors, limits); servers, the simulator, the schema toolkit,
// codegen, the launcher and the proxy have their own subpath exports.

export * from './client/index.js';
export * from './errors/index.js';
export * from './limits.js';
export * from './protocol/index.js';
export { type QmpTraceMessage, TRACE_CHANNELS } from './trace/index.js';
export * from './transport/index.js';
export { decodeJson, encodeJson, encodeMessage, type JsonObject, JsonSplitter, type JsonValue } from './wire/index.js';
