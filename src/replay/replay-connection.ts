import { QmpCommandError } from '../errors/index.js';
import type { QmpCommandContext, QmpServerSession } from '../server/index.js';
import { type JsonObject, type JsonValue, QNum, type QValue } from '../wire/index.js';
import { recordedJson } from './recorded-json.js';
import type { QmpRecordedStep, QmpRecording } from './recording.js';
import { firstDifference, type QmpRequestDifference, showValue } from './request-diff.js';

/** How strictly a replay compares requests with the recording, and what it rewrites. */
export interface QmpReplayMatchOptions {
  /**
   * Do not compare request ids (a client that numbers its requests differently still matches).
   * The reply always carries the id the client sent. Default false: the id is compared too
   * (except with qmp-shell's `-l` log, which records none).
   */
  ignoreIds?: boolean;
  /** Send events with the time they are sent instead of their recorded `timestamp`. Default false. */
  freshTimestamps?: boolean;
  /**
   * Request members left out of the comparison, as mismatch messages name them
   * (`arguments.filename`, `arguments.options.node-name`, `arguments.keys[0]`); a path covers
   * everything below it. Default none.
   */
  ignorePaths?: readonly string[];
  /**
   * A `query-*` request that is not the next recorded one but equals a recorded request elsewhere
   * is answered with that recorded reply (the nearest before the current position, else the first
   * after) without moving on, so a client may poll more or less often than the recorded one.
   * Default false.
   */
  repeatQueries?: boolean;
}

/** A request that did not match the recording, as the replay reports it. */
export interface QmpReplayMismatch {
  /** The connection it came on (the server session's label). */
  readonly connection: string;
  /** The recording's name. */
  readonly recording: string;
  /** 1-based number of the recorded request that was expected (one past the last when the recording is used up). */
  readonly step: number;
  /** 1-based line of the expected request in the recording; `undefined` when the recording is used up. */
  readonly line: number | undefined;
  /** The recorded request, or `undefined` when the recording is used up. */
  readonly expected: JsonObject | undefined;
  /** The request the client sent. */
  readonly got: Readonly<Record<string, unknown>>;
  /** Where they first differ; `undefined` when the recording is used up. */
  readonly difference: QmpRequestDifference | undefined;
  /** The `desc` of the `GenericError` the client got. */
  readonly message: string;
}

/** A QValue (the request id as the server parsed it) as a plain value. */
function plain(v: QValue | undefined): unknown {
  if (v instanceof QNum) return v.toJs();
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [k, plain(x)]));
  return v;
}

/** A request in the shape compared: `arguments` always present (`{}` when not sent, as QEMU reads it), `id` only when compared. */
function comparable(request: Readonly<Record<string, unknown>>, withId: boolean): Record<string, unknown> {
  const name = 'execute' in request ? 'execute' : 'exec-oob';
  const out: Record<string, unknown> = { [name]: request[name], arguments: request['arguments'] ?? {} };
  if (withId && request['id'] !== undefined) out['id'] = request['id'];
  return out;
}

/**
 * One client connection of a replay: its own position in the recording, so every connection
 * replays from the start. It answers each request with the recorded reply and sends each recorded
 * event after the reply recorded before it, and before the next reply when the client had already
 * sent that request when the event came (see `QmpRecordedEvent.afterRequests`).
 */
export class ReplayConnection {
  readonly #recording: QmpRecording;
  readonly #options: QmpReplayMatchOptions;
  readonly #session: QmpServerSession;
  readonly #report: (m: QmpReplayMismatch) => void;
  readonly #clock: () => number;
  /** Steps matched so far: the next expected step's 0-based index. */
  #next = 0;
  #eventCursor = 0;
  readonly #replied: boolean[] = [];

  constructor(
    recording: QmpRecording,
    options: QmpReplayMatchOptions,
    session: QmpServerSession,
    report: (m: QmpReplayMismatch) => void,
    clock: () => number,
  ) {
    this.#recording = recording;
    this.#options = options;
    this.#session = session;
    this.#report = report;
    this.#clock = clock;
  }

  /** Recorded requests this connection has been sent so far. */
  get matched(): number {
    return this.#next;
  }

  /** The fallback handler of the replay server for this connection's requests. */
  handle(command: string, args: Record<string, unknown>, ctx: QmpCommandContext): unknown {
    const got: Record<string, unknown> = { [ctx.oob ? 'exec-oob' : 'execute']: command, arguments: args };
    if (ctx.id !== undefined) got['id'] = plain(ctx.id);
    const step = this.#recording.steps[this.#next];
    // An exchange log records no ids: there is nothing to compare them with.
    const withId = this.#options.ignoreIds !== true && this.#recording.format === 'transcript';
    const difference =
      step === undefined
        ? undefined
        : firstDifference(comparable(step.request, withId), comparable(got, withId), this.#options.ignorePaths);
    if (step === undefined || difference !== undefined) {
      const repeated = this.#repeat(got, withId);
      if (repeated !== undefined) return this.#answer(repeated);
      throw this.#mismatch(step, got, difference);
    }
    this.#next++;
    this.#flushEvents();
    const index = step.index - 1;
    ctx.onReplyWritten(() => {
      this.#replied[index] = true;
      this.#flushEvents();
    });
    // After `quit` QEMU closes the connection once the reply (and SHUTDOWN) are out.
    if (command === 'quit') ctx.afterReply(() => void this.#session.close());
    if (step.reply === undefined) {
      throw new QmpCommandError(
        'GenericError',
        `replay: ${this.#recording.name} ends before the reply to request ${step.index} (line ${step.line})`,
      );
    }
    return this.#answer(step.reply);
  }

  #answer(reply: JsonObject): unknown {
    const error = reply['error'];
    if (typeof error === 'object' && error !== null && !Array.isArray(error)) {
      throw new QmpCommandError(String(error['class']), String(error['desc']));
    }
    // The recorded member order is QEMU's; re-sorting would not give it back (see recordedJson).
    return recordedJson(reply['return'], this.#session.pretty, '    ');
  }

  /** The recorded reply of an equal `query-*` request elsewhere in the recording, when `repeatQueries` allows it. */
  #repeat(got: Record<string, unknown>, withId: boolean): JsonObject | undefined {
    const name = got['execute'];
    if (this.#options.repeatQueries !== true || typeof name !== 'string' || !name.startsWith('query-'))
      return undefined;
    const wanted = comparable(got, withId);
    const equal = (s: QmpRecordedStep): boolean =>
      s.reply !== undefined &&
      firstDifference(comparable(s.request, withId), wanted, this.#options.ignorePaths) === undefined;
    const steps = this.#recording.steps;
    for (let i = Math.min(this.#next, steps.length) - 1; i >= 0; i--) {
      const s = steps[i];
      if (s !== undefined && equal(s)) return s.reply;
    }
    return steps.slice(this.#next).find(equal)?.reply;
  }

  #mismatch(
    step: QmpRecordedStep | undefined,
    got: Record<string, unknown>,
    difference: QmpRequestDifference | undefined,
  ): QmpCommandError {
    const name = this.#recording.name;
    const steps = this.#recording.steps;
    const message =
      step === undefined || difference === undefined
        ? `replay: ${name} has no more requests (all ${steps.length} were sent); got ${showValue(got)}`
        : `replay: request ${step.index} differs from ${name} line ${step.line} at ${difference.path}: expected ${showValue(difference.expected)}, got ${showValue(difference.got)} (expected ${showValue(step.request)})`;
    this.#report({
      connection: this.#session.label,
      recording: name,
      step: step?.index ?? steps.length + 1,
      line: step?.line,
      expected: step?.request,
      got,
      difference,
      message,
    });
    return new QmpCommandError('GenericError', message);
  }

  /** Sends every event whose turn has come, in recorded order. */
  #flushEvents(): void {
    const events = this.#recording.events;
    while (this.#eventCursor < events.length) {
      const e = events[this.#eventCursor];
      if (e === undefined || e.afterRequests > this.#next) return;
      if (e.afterReplyOf >= 0 && this.#replied[e.afterReplyOf] !== true) return;
      this.#eventCursor++;
      const message = this.#options.freshTimestamps === true ? this.#restamp(e.message) : e.message;
      this.#session.writeMessage(recordedJson(message, this.#session.pretty));
    }
  }

  #restamp(message: JsonObject): JsonObject {
    const us = Math.trunc(this.#clock());
    const seconds = Math.floor(us / 1_000_000);
    // Replaced in place, so the members keep QEMU's order.
    const out: Record<string, JsonValue> = { ...message };
    out['timestamp'] = { seconds, microseconds: us - seconds * 1_000_000 };
    return out;
  }
}
