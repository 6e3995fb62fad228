import { channel } from 'node:diagnostics_channel';
import { debuglog } from 'node:util';

/** `NODE_DEBUG=qmpkit` turns this on. */
export const debug = debuglog('qmpkit');

/** Message published on the trace channels: one QMP message in or out. */
export interface QmpTraceMessage {
  /** Who published it: `client`, `server`, `proxy`. */
  readonly source: string;
  /** A label for the connection (its address, or a numeric id). */
  readonly connection: string;
  /** The decoded message (or, for unparseable input, the raw text). */
  readonly message: unknown;
}

/** `diagnostics_channel` names used by qmpkit. Subscribe with `diagnostics_channel.subscribe(name, fn)`. */
export const TRACE_CHANNELS = {
  /** Every message received. */
  messageIn: 'qmpkit:message:in',
  /** Every message sent. */
  messageOut: 'qmpkit:message:out',
  /** Anything dropped or unexpected: replies with unknown ids, events dropped from a full buffer. */
  anomaly: 'qmpkit:anomaly',
} as const;

const inChannel = channel(TRACE_CHANNELS.messageIn);
const outChannel = channel(TRACE_CHANNELS.messageOut);
const anomalyChannel = channel(TRACE_CHANNELS.anomaly);

/** Publishes a received message (cheap when nobody listens). */
export function traceIn(source: string, connection: string, message: unknown): void {
  if (inChannel.hasSubscribers) inChannel.publish({ source, connection, message } satisfies QmpTraceMessage);
  if (debug.enabled) debug('%s %s <- %O', source, connection, message);
}

/** Publishes a sent message (cheap when nobody listens). */
export function traceOut(source: string, connection: string, message: unknown): void {
  if (outChannel.hasSubscribers) outChannel.publish({ source, connection, message } satisfies QmpTraceMessage);
  if (debug.enabled) debug('%s %s -> %O', source, connection, message);
}

/** Publishes something dropped or unexpected, with a reason. */
export function traceAnomaly(source: string, connection: string, reason: string, message?: unknown): void {
  if (anomalyChannel.hasSubscribers) anomalyChannel.publish({ source, connection, reason, message });
  if (debug.enabled) debug('%s %s !! %s %O', source, connection, reason, message);
}
