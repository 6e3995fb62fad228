import { QmpRecordingError } from '../errors/index.js';
import { decodeJsonLossless, type JsonObject, type JsonValue } from '../wire/index.js';
import { sameValue, showValue } from './request-diff.js';

/** A request the client sent after negotiation, with the reply that answered it. */
export interface QmpRecordedStep {
  /** 1-based position among the recorded requests served by the replay. */
  readonly index: number;
  /** 1-based line of the request in the recording. */
  readonly line: number;
  /** The request as sent: `execute` or `exec-oob`, `arguments` when given, `id` when given. */
  readonly request: JsonObject;
  /** The reply (`return` or `error`, with the request's `id`), or `undefined` when the recording ends first. */
  readonly reply: JsonObject | undefined;
  /** 1-based line of the reply, when there is one. */
  readonly replyLine: number | undefined;
}

/** An event the server sent, with where it stands among the requests and replies. */
export interface QmpRecordedEvent {
  /** 1-based line of the event in the recording. */
  readonly line: number;
  /** The event as received: `event`, `data` when given, `timestamp`. */
  readonly message: JsonObject;
  /**
   * It is sent once this many recorded requests came: the one after `afterReplyOf` when the client
   * had sent it before the event arrived (the event then goes before that request's reply, like
   * `STOP` before the reply to `stop`), else none more (it goes right after that reply).
   */
  readonly afterRequests: number;
  /** The 0-based step whose reply was the last one before it (-1: none): it is sent after that reply. */
  readonly afterReplyOf: number;
}

/** A recorded QMP session, ready to be served by `replaySession`. */
export interface QmpRecording {
  /** What the recording is called in messages (its path, by default). */
  readonly name: string;
  /** `transcript`: `TranscriptLog` / `--qmp-log` lines. `exchange-log`: qmp-shell's `-l` lines. */
  readonly format: 'transcript' | 'exchange-log';
  /** The server's greeting, or `undefined` when the recording has none (the replay then sends QEMU 7.2's). */
  readonly greeting: JsonObject | undefined;
  /** The requests after capabilities negotiation, in the order they were sent. */
  readonly steps: readonly QmpRecordedStep[];
  /** The events, in the order they were received. */
  readonly events: readonly QmpRecordedEvent[];
}

function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

interface PendingStep {
  /** 0-based index among the steps, or -1 for negotiation. */
  step: number;
  line: number;
  request: JsonObject;
  reply: JsonObject | undefined;
  replyLine: number | undefined;
}

/**
 * Reads a recorded session from its text: one JSON object per line, either the transcript format
 * (`{"time", "direction": "in" | "out", "message"}`, what `TranscriptLog` and `qmpkit launch
 * --qmp-log` write) or qmp-shell's `-l` exchange log (`{"execute", "arguments", "return" | "error"}`).
 * Blank lines are skipped. The greeting, `qmp_capabilities` and what was sent before it are not
 * steps: the replay server negotiates itself, as QEMU does. Throws `QmpRecordingError` naming the
 * line of the first problem.
 */
export function parseRecording(text: string, name = 'recording'): QmpRecording {
  const fail = (line: number | undefined, why: string): never => {
    throw new QmpRecordingError(`${name}${line === undefined ? '' : `:${line}`}: ${why}`, { recording: name, line });
  };
  let format: QmpRecording['format'] | undefined;
  let greeting: JsonObject | undefined;
  let negotiated = false;
  let seenIn = false;
  const steps: PendingStep[] = [];
  const events: QmpRecordedEvent[] = [];
  // The requests not answered yet, in order, for matching replies; only those after negotiation
  // become steps (the server framework answers `qmp_capabilities` and what comes before it itself,
  // as QEMU does). Kept apart from the answered ones so a long recording reads in linear time.
  const open: PendingStep[] = [];
  let lastReplied = -1;
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = i + 1;
    if (raw.trim() === '') continue;
    let value: JsonValue;
    try {
      value = decodeJsonLossless(raw);
    } catch (err) {
      return fail(line, `not JSON (${err instanceof Error ? err.message : String(err)})`);
    }
    if (!isObject(value)) return fail(line, 'not a JSON object');
    const lineFormat = 'direction' in value ? 'transcript' : 'execute' in value ? 'exchange-log' : undefined;
    if (lineFormat === undefined) {
      return fail(
        line,
        'neither a transcript line ({"direction", "message"}) nor an exchange-log line ({"execute", ...})',
      );
    }
    if (format !== undefined && lineFormat !== format)
      return fail(
        line,
        `${lineFormat === 'transcript' ? 'a transcript' : 'an exchange-log'} line in ${format === 'transcript' ? 'a transcript' : 'an exchange-log'} recording`,
      );
    format = lineFormat;
    if (lineFormat === 'exchange-log') {
      const request = requestOf(value, line, fail);
      const reply: JsonObject = {};
      if ('return' in value) reply['return'] = value['return'] as JsonValue;
      else if (isObject(value['error'])) reply['error'] = value['error'];
      else return fail(line, 'an exchange-log line needs "return" or an "error" object');
      if (request['execute'] === 'qmp_capabilities') continue;
      steps.push({ step: steps.length, line, request, reply, replyLine: line });
      continue;
    }
    const direction = value['direction'];
    const message = value['message'];
    if (direction !== 'in' && direction !== 'out') return fail(line, '"direction" must be "in" or "out"');
    if (!isObject(message)) return fail(line, '"message" must be a JSON object');
    if (direction === 'out') {
      const isStep = negotiated && message['execute'] !== 'qmp_capabilities';
      const step: PendingStep = {
        step: isStep ? steps.length : -1,
        line,
        request: requestOf(message, line, fail),
        reply: undefined,
        replyLine: undefined,
      };
      open.push(step);
      if (isStep) steps.push(step);
      continue;
    }
    if ('QMP' in message) {
      if (seenIn) return fail(line, 'a greeting after the session started');
      seenIn = true;
      greeting = message;
      continue;
    }
    seenIn = true;
    if (typeof message['event'] === 'string') {
      events.push({ line, message, afterRequests: Math.min(steps.length, lastReplied + 2), afterReplyOf: lastReplied });
      continue;
    }
    if (!('return' in message) && !isObject(message['error'])) {
      return fail(line, 'an "in" message must be a greeting, a reply ("return" or an "error" object) or an event');
    }
    const at = open.findIndex((s) => sameValue(s.request['id'], message['id']));
    const answered = open[at];
    if (answered === undefined) {
      const idText = message['id'] === undefined ? 'without an id' : `with id ${showValue(message['id'])}`;
      return fail(line, `a reply ${idText} that answers no request recorded before it`);
    }
    open.splice(at, 1);
    answered.reply = message;
    answered.replyLine = line;
    lastReplied = Math.max(lastReplied, answered.step);
    if (!negotiated && answered.request['execute'] === 'qmp_capabilities' && 'return' in message) negotiated = true;
  }
  if (format === undefined) return fail(undefined, 'the recording is empty');
  return {
    name,
    format,
    greeting,
    steps: steps.map((s, i) => ({
      index: i + 1,
      line: s.line,
      request: s.request,
      reply: s.reply,
      replyLine: s.replyLine,
    })),
    events,
  };
}

/** The request part of a recorded line: `execute` or `exec-oob`, `arguments` (an object), `id`. */
function requestOf(value: JsonObject, line: number, fail: (line: number, why: string) => never): JsonObject {
  const request: JsonObject = {};
  const name = value['execute'] ?? value['exec-oob'];
  if (typeof name !== 'string') return fail(line, 'a request needs a string "execute" or "exec-oob"');
  request[typeof value['execute'] === 'string' ? 'execute' : 'exec-oob'] = name;
  const args = value['arguments'];
  if (args !== undefined && args !== null) {
    if (!isObject(args)) return fail(line, '"arguments" must be a JSON object');
    request['arguments'] = args;
  }
  if (value['id'] !== undefined) request['id'] = value['id'];
  return request;
}
