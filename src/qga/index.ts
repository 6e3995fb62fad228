// qga/: the QEMU guest agent client: QgaClient and its session rules (sync with
// guest-sync-delimited, one command in flight, commands that never answer, guest-exec polling),
// and the agent's generated command types. Imports client (deadlines), transport, protocol, wire,
// errors, limits, trace and qapi (types); never simulator, proxy, launcher or cli.
export type * from '../qapi/qga/index.js';
export { QGA_NO_REPLY_COMMANDS, QgaClient } from './qga-client.js';
export type { QgaClientOptions, QgaExecOptions, QgaExecResult, QgaExecuteOptions } from './qga-options.js';
export { QGA_SENTINEL, QgaReader, type QgaReadItem } from './qga-reader.js';
export type { QgaSessionState } from './qga-session.js';
