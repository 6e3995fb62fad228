// What the proxy keeps per client, and the event path to it: QEMU's events fan out to every
// negotiated client in QEMU's order relative to that client's replies, with a bounded buffer.
import type { QmpServerSession } from '../server/index.js';
import { traceAnomaly } from '../trace/index.js';
import { compactJsonText, RawJson } from '../wire/index.js';
import { QmpProxyClientDeadlines } from './client-deadlines.js';
import type { QmpProxyRules } from './policy.js';

export type OutboxEntry = { reply: true; written: boolean } | { reply: false; event: RawJson };

export interface ClientInfo {
  readonly session: QmpServerSession;
  readonly label: string;
  readonly listener: string;
  readonly rules: QmpProxyRules;
  pending: number;
  unflushedEvents: number;
  /**
   * QEMU's order for this client while replies are on their way: a reply read from QEMU and not yet
   * written to the client holds back the events QEMU sent after it.
   */
  outbox: OutboxEntry[];
  /** Events in `outbox`. */
  heldEvents: number;
  /** Why the proxy closed this client, when it did. */
  closedBecause?: string;
  readonly deadlines: QmpProxyClientDeadlines;
}

/**
 * A new client's record: no commands pending, nothing held, and its negotiation and idle deadlines
 * running (on expiry the client is disconnected with the reason recorded).
 */
export function newClientInfo(
  session: QmpServerSession,
  label: string,
  listener: string,
  rules: QmpProxyRules,
  negotiationTimeoutMs: number,
  idleTimeoutMs: number,
): ClientInfo {
  const info: ClientInfo = {
    session,
    label,
    listener,
    rules,
    pending: 0,
    unflushedEvents: 0,
    outbox: [],
    heldEvents: 0,
    deadlines: new QmpProxyClientDeadlines(
      {
        get negotiated() {
          return session.negotiated;
        },
        get closed() {
          return session.closed;
        },
        expire: (reason) => {
          info.closedBecause ??= reason;
          void session.close(0);
        },
      },
      negotiationTimeoutMs,
      idleTimeoutMs,
    ),
  };
  return info;
}

/**
 * Hands one QEMU event (its text) to every negotiated client: written at once, or held behind a
 * reply still on its way to that client. A client with `maxEvents` unwritten is disconnected.
 */
export function fanOutEvent(clients: Iterable<ClientInfo>, text: string, maxEvents: number): void {
  // QEMU's text, on one line; the writer copies a RawJson through.
  const ev = new RawJson(compactJsonText(text));
  for (const info of clients) {
    const s = info.session;
    if (!s.negotiated || s.closed) continue;
    if (info.unflushedEvents + info.heldEvents >= maxEvents) {
      // A client that does not read is cut off, so it never slows QEMU or the others.
      info.closedBecause = `it does not read its events: ${maxEvents} queued (maxClientEventBuffer)`;
      traceAnomaly('proxy', info.label, `client ${info.closedBecause}: disconnected`);
      void s.close(0);
      continue;
    }
    if (info.outbox.length > 0) {
      info.outbox.push({ reply: false, event: ev });
      info.heldEvents++;
    } else writeEvent(info, ev);
  }
}

function writeEvent(info: ClientInfo, ev: RawJson): void {
  info.unflushedEvents++;
  info.session.writeMessage(ev, () => {
    info.unflushedEvents--;
  });
}

/** Writes the events no longer behind an unwritten reply. */
export function drainOutbox(info: ClientInfo): void {
  const box = info.outbox;
  let i = 0;
  for (; i < box.length; i++) {
    const e = box[i];
    if (e === undefined) break;
    if (e.reply) {
      if (!e.written) break;
      continue;
    }
    info.heldEvents--;
    writeEvent(info, e.event);
  }
  if (i > 0) box.splice(0, i);
}
