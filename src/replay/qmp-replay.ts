import type { Duplex } from 'node:stream';
import { QmpRecordingError } from '../errors/index.js';
import type { QmpCapability, QmpVersionInfo } from '../protocol/index.js';
import {
  type QmpCommandContext,
  type QmpMonitor,
  QmpServer,
  type QmpServerOptions,
  type QmpServerSession,
} from '../server/index.js';
import type { JsonObject } from '../wire/index.js';
import { readRecording } from './read-recording.js';
import type { QmpRecording } from './recording.js';
import { type QmpReplayMatchOptions, type QmpReplayMismatch, ReplayConnection } from './replay-connection.js';

/** How one connection's replay went, reported when it closes. */
export interface QmpReplaySessionSummary {
  /** The connection (the server session's label). */
  readonly connection: string;
  /** Recorded requests that were matched and answered. */
  readonly matched: number;
  /** Recorded requests in the recording. */
  readonly steps: number;
  /** Requests of this connection that did not match. */
  readonly mismatches: number;
}

/** Options of {@link replaySession}. */
export interface QmpReplayOptions extends QmpReplayMatchOptions {
  /**
   * Addresses to listen on, QEMU's syntax as for `QmpServer.listen`
   * (`unix:PATH,server=on,wait=off`, `tcp:127.0.0.1:4444,server=on,wait=off`). Default none: serve
   * streams with {@link QmpReplay.serve}.
   */
  listen?: string | readonly string[];
  /** QEMU's `pretty=on` output on the listening addresses. */
  pretty?: boolean;
  /** Called for every request that does not match the recording (besides the client's error reply). */
  onMismatch?: (mismatch: QmpReplayMismatch) => void;
  /** Called when a connection that sent at least one command closes. */
  onSessionEnd?: (summary: QmpReplaySessionSummary) => void;
  /** Largest recording file read when `recording` is a path, in bytes. Default `MAX_RECORDING_BYTES` (64 MiB). */
  maxRecordingBytes?: number;
  /** Wall clock for fresh event timestamps (`freshTimestamps`), in microseconds since the epoch. */
  clock?: () => number;
}

/**
 * A running replay: a QMP server that plays a recorded session back to every client. Each
 * connection replays from the start, with its own position in the recording; a monitor address
 * serves one client at a time, as QEMU's does.
 */
export class QmpReplay {
  /** The recording being served. */
  readonly recording: QmpRecording;
  /** The QMP server underneath (its `sessions`, `monitors`, `close`). */
  readonly server: QmpServer;
  /** The listening monitors, one per `listen` address, in order. */
  readonly monitors: readonly QmpMonitor[];
  readonly #mismatches: QmpReplayMismatch[] = [];
  readonly #connections = new Map<QmpServerSession, { replay: ReplayConnection; mismatches: number }>();

  /** @internal Use {@link replaySession}. */
  constructor(recording: QmpRecording, server: QmpServer, monitors: readonly QmpMonitor[], options: QmpReplayOptions) {
    this.recording = recording;
    this.server = server;
    this.monitors = monitors;
    const clock = options.clock ?? (() => Math.floor((performance.timeOrigin + performance.now()) * 1000));
    server.setFallback(
      (command, args, ctx) => {
        let conn = this.#connections.get(ctx.session);
        if (conn === undefined) {
          const entry = {
            mismatches: 0,
            replay: new ReplayConnection(
              recording,
              options,
              ctx.session,
              (m) => {
                entry.mismatches++;
                this.#mismatches.push(m);
                options.onMismatch?.(m);
              },
              clock,
            ),
          };
          conn = entry;
          this.#connections.set(ctx.session, entry);
          ctx.session.once('close', () => {
            this.#connections.delete(ctx.session);
            options.onSessionEnd?.({
              connection: ctx.session.label,
              matched: entry.replay.matched,
              steps: recording.steps.length,
              mismatches: entry.mismatches,
            });
          });
        }
        return conn.replay.handle(command, args, ctx as QmpCommandContext);
      },
      { allowOob: true, allowPreconfig: true },
    );
  }

  /** Every request so far that did not match the recording, on any connection, in order. */
  get mismatches(): readonly QmpReplayMismatch[] {
    return [...this.#mismatches];
  }

  /** Serves one connection over `stream` (an in-memory duplex, a socket accepted elsewhere). */
  serve(stream: Duplex, options: { label?: string; pretty?: boolean } = {}): QmpServerSession {
    return this.server.serve(stream, options);
  }

  /** Stops listening and ends every connection. */
  close(): Promise<void> {
    return this.server.close();
  }
}

/** The greeting's version and capabilities as server options; QEMU 7.2's when the recording has no greeting. */
function greetingOptions(recording: QmpRecording): Pick<QmpServerOptions, 'version' | 'capabilities'> {
  const greeting = recording.greeting;
  if (greeting === undefined) return {};
  const bad = (): never => {
    throw new QmpRecordingError(
      `${recording.name}: the greeting is not {"QMP": {"version": {"qemu": {"major", "minor", "micro"}, "package"}, "capabilities": [...]}}`,
      { recording: recording.name },
    );
  };
  const qmp = greeting['QMP'] as JsonObject | undefined;
  const version = qmp?.['version'] as JsonObject | undefined;
  const qemu = version?.['qemu'] as JsonObject | undefined;
  const caps = qmp?.['capabilities'];
  const triple = [qemu?.['major'], qemu?.['minor'], qemu?.['micro']];
  if (!triple.every((n) => typeof n === 'number') || typeof version?.['package'] !== 'string') return bad();
  if (!Array.isArray(caps) || !caps.every((c) => typeof c === 'string')) return bad();
  const [major, minor, micro] = triple as [number, number, number];
  const v: QmpVersionInfo = { qemu: { major, minor, micro }, package: version['package'] };
  return { version: v, capabilities: caps as QmpCapability[] };
}

/**
 * Serves a recorded QMP session: sends the recorded greeting, negotiates as QEMU does, answers each
 * request with its recorded reply and sends the recorded events in their place. A request that
 * differs from the recording gets a `GenericError` reply whose `desc` names the request number,
 * the recording line, the first differing member and both values; it is also reported through
 * `onMismatch` and {@link QmpReplay.mismatches}, and the position stays where it was, so the right
 * request can still follow.
 *
 * @param recording A parsed recording (`parseRecording`, `readRecording`) or the path of one.
 * @throws QmpRecordingError when the file cannot be read or is not a recording.
 */
export async function replaySession(
  recording: QmpRecording | string,
  options: QmpReplayOptions = {},
): Promise<QmpReplay> {
  const rec =
    typeof recording === 'string'
      ? await readRecording(
          recording,
          options.maxRecordingBytes === undefined ? {} : { maxRecordingBytes: options.maxRecordingBytes },
        )
      : recording;
  // Recorded events are replayed as recorded: QEMU already rate-limited them.
  const server = new QmpServer({ ...greetingOptions(rec), throttledEvents: {} });
  const addresses =
    options.listen === undefined ? [] : typeof options.listen === 'string' ? [options.listen] : options.listen;
  const monitors: QmpMonitor[] = [];
  const replay = new QmpReplay(rec, server, monitors, options);
  try {
    for (const address of addresses) {
      monitors.push(await server.listen(address, options.pretty === undefined ? {} : { pretty: options.pretty }));
    }
  } catch (err) {
    await server.close();
    throw err;
  }
  return replay;
}
