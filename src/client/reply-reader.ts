import { QmpCommandError } from '../errors/qmp-command-error.js';
import { type QmpError, QmpProtocolError } from '../errors/qmp-error.js';
import { MAX_DEPTH, MAX_MESSAGE_BYTES } from '../limits.js';
import { isErrorReply, isEvent, isGreeting, isJsonObject, isReturn } from '../protocol/guards.js';
import type { QmpEvent, QmpGreeting } from '../protocol/messages.js';
import { traceAnomaly, traceIn } from '../trace/trace.js';
import { JsonSplitter } from '../wire/json-splitter.js';
import type { JsonObject, JsonValue } from '../wire/json-value.js';
import { excerpt, returnTextOf } from './call-outcome.js';
import type { EventHub } from './event-hub.js';
import type { QmpSessionOptions } from './options.js';
import type { PendingCall, RequestTracker } from './request-tracker.js';

/** What the reader hands back to its session. */
export interface ReplyReaderHooks {
  /** The greeting was read. */
  greeting(g: QmpGreeting): void;
  /** Calls the tracker let go (a reply freed room in the window): the session writes them. */
  write(calls: PendingCall[]): void;
  /** The session must end with `err`: nothing read after can be trusted. */
  fail(err: QmpError): void;
  /** True once the session is over or closing: the rest of the input is not handled. */
  ended(): boolean;
}

/**
 * The reply path of a session: splits the transport's bytes into messages, and hands each one to its
 * owner: a reply to its call (matched by id through the tracker), an event to the hub, the greeting
 * to the session. It never writes: calls the tracker releases go to the session's `write` hook.
 */
export class ReplyReader {
  readonly #label: string;
  readonly #tracker: RequestTracker;
  readonly #hub: EventHub;
  readonly #hooks: ReplyReaderHooks;
  readonly #splitter: JsonSplitter;
  #awaitingGreeting = true;

  constructor(
    label: string,
    tracker: RequestTracker,
    hub: EventHub,
    options: QmpSessionOptions,
    hooks: ReplyReaderHooks,
  ) {
    this.#label = label;
    this.#tracker = tracker;
    this.#hub = hub;
    this.#hooks = hooks;
    this.#splitter = new JsonSplitter({
      maxMessageBytes: options.maxMessageBytes ?? MAX_MESSAGE_BYTES,
      maxDepth: options.maxDepth ?? MAX_DEPTH,
    });
  }

  /** Handles one chunk from the transport. */
  push(chunk: Buffer, awaitingGreeting: boolean): void {
    // Once the user closed the session, nothing the peer still sends may reach a handler.
    if (this.#hooks.ended()) return;
    this.#awaitingGreeting = awaitingGreeting;
    let items: ReturnType<JsonSplitter['push']>;
    try {
      items = this.#splitter.push(chunk);
    } catch (err) {
      this.#hooks.fail(
        new QmpProtocolError(`Reading from ${this.#label} failed: ${String(err)}`, {
          code: 'QMP_ERR_JSON',
          cause: err,
        }),
      );
      return;
    }
    for (const item of items) {
      if ('error' in item) {
        // The lost message could have been any reply: no call can be trusted to get its answer.
        this.#hooks.fail(item.error);
        return;
      }
      this.#onMessage(item.value, item.text);
      if (this.#hooks.ended()) return;
    }
  }

  #onMessage(msg: JsonValue, text: string): void {
    traceIn('client', this.#label, msg);
    if (!isJsonObject(msg)) {
      traceAnomaly('client', this.#label, 'dropped a message that is not an object', msg);
      return;
    }
    if ('return' in msg || 'error' in msg) {
      if ('event' in msg || ('return' in msg && 'error' in msg)) {
        // Neither a reply nor an event can be trusted: the peer is broken.
        this.#hooks.fail(
          new QmpProtocolError(
            `${this.#label} sent a message that is both a reply and ${'event' in msg ? 'an event' : 'an error'}: ${excerpt(msg)}`,
          ),
        );
        return;
      }
      this.#onReply(msg, text);
      return;
    }
    if (isEvent(msg)) {
      this.#hub.dispatch(msg as QmpEvent<unknown>, text);
      return;
    }
    if (this.#awaitingGreeting) {
      if (!isGreeting(msg)) {
        this.#hooks.fail(new QmpProtocolError(`${this.#label} did not send a QMP greeting: ${excerpt(msg)}`));
        return;
      }
      this.#awaitingGreeting = false;
      this.#hooks.greeting(msg);
      return;
    }
    traceAnomaly('client', this.#label, 'dropped a message that is neither a reply nor an event', msg);
  }

  #onReply(msg: JsonObject, text: string): void {
    const id = msg['id'];
    const m = id === undefined ? this.#tracker.matchIdless() : this.#tracker.match(id);
    if (m.kind === 'ambiguous') {
      // Several requests are out: handing it to any of them could give a caller another's answer.
      this.#hooks.fail(
        new QmpProtocolError(
          `${this.#label} sent a reply without an id while several commands were in flight; it cannot be matched to a caller: ${excerpt(msg)}`,
        ),
      );
      return;
    }
    if (m.kind === 'unknown') {
      traceAnomaly('client', this.#label, `reply with unknown id ${excerpt(id)} dropped`, msg);
      return;
    }
    this.#hooks.write(m.write);
    if (m.kind === 'late') {
      traceAnomaly('client', this.#label, `late reply to abandoned command id ${excerpt(id)} discarded`, msg);
      return;
    }
    const call = m.call;
    if (call.onReply !== undefined) {
      try {
        call.onReply();
      } catch (err) {
        traceAnomaly('client', this.#label, `onReply callback of ${call.command} threw: ${String(err)}`, err);
      }
    }
    if (isReturn(msg)) call.resolve(call.returnText ? returnTextOf(text, msg) : msg.return);
    else if (isErrorReply(msg))
      call.reject(
        new QmpCommandError(msg.error.class, msg.error.desc, {
          command: call.command,
          arguments: call.args,
          reply: msg,
        }),
      );
    else call.reject(new QmpProtocolError(`Malformed reply to ${call.command}: ${excerpt(msg)}`));
  }
}
