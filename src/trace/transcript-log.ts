import { channel } from 'node:diagnostics_channel';
import { closeSync, openSync, writeSync } from 'node:fs';
import { QmpUsageError } from '../errors/qmp-error.js';
import { type QmpTraceMessage, TRACE_CHANNELS } from './trace.js';

const BIGINT_MARK = '\u0000bigint:';

/** JSON text of a decoded message; integers beyond 2^53 (bigint) are written exactly. */
function encode(value: unknown): string {
  const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${BIGINT_MARK}${v}` : v));
  return text.replace(/"\\u0000bigint:(-?\d+)"/g, '$1');
}

/**
 * Records every QMP message of one client connection to a file, one JSON object per line:
 * `{"time": ISO-8601, "direction": "in" | "out", "message": {...}}`. It listens on qmpkit's trace
 * channels for the connection's label, so it sees the messages as the client decoded and encoded
 * them, from the greeting on: requests with their ids, replies, events in the order they came.
 * Create it before connecting and give the client the same `label`; `replaySession` (from
 * `qmpkit/replay`) serves the file back as a QMP server.
 */
export class TranscriptLog {
  readonly #fd: number;
  readonly #label: string;
  readonly #onIn = (m: unknown): void => this.#record('in', m);
  readonly #onOut = (m: unknown): void => this.#record('out', m);
  #open = true;

  /** Opens (truncates) `path` and starts recording messages of the client labelled `label`. */
  constructor(path: string, label: string) {
    try {
      this.#fd = openSync(path, 'w', 0o600);
    } catch (err) {
      throw new QmpUsageError(`Cannot open the QMP log ${path}: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
      });
    }
    this.#label = label;
    channel(TRACE_CHANNELS.messageIn).subscribe(this.#onIn);
    channel(TRACE_CHANNELS.messageOut).subscribe(this.#onOut);
  }

  #record(direction: 'in' | 'out', m: unknown): void {
    const t = m as QmpTraceMessage;
    if (!this.#open || t.source !== 'client' || t.connection !== this.#label) return;
    try {
      writeSync(this.#fd, `${encode({ time: new Date().toISOString(), direction, message: t.message })}\n`);
    } catch {
      // A full disk must not break the session; the log just stops.
      this.close();
    }
  }

  /** Stops recording and closes the file. Idempotent. */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    channel(TRACE_CHANNELS.messageIn).unsubscribe(this.#onIn);
    channel(TRACE_CHANNELS.messageOut).unsubscribe(this.#onOut);
    closeSync(this.#fd);
  }
}
