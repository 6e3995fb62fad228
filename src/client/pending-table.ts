import type { JsonValue } from '../wire/json-value.js';
import type { Deadline } from './deadline.js';

/** One command the client has accepted and not yet settled. */
export interface PendingCall {
  readonly id: number;
  readonly command: string;
  readonly args: unknown;
  readonly oob: boolean;
  /** The encoded request line. */
  readonly line: string;
  /** Resolve with the JSON text of `return` as the server wrote it, not the decoded value. */
  readonly returnText: boolean;
  /** True once the request was handed to the socket: from then on it may run in QEMU. */
  written: boolean;
  /** Timed out or aborted, already rejected, still waiting for its reply (replies matched by order). */
  abandoned?: boolean;
  deadline: Deadline | undefined;
  /** Called as soon as the reply is read, before later messages are handled (executeText). */
  readonly onReply?: (() => void) | undefined;
  resolve(value: JsonValue): void;
  reject(err: Error): void;
}

/**
 * Commands in flight, by id, in the order they were accepted. In-band replies come back in request
 * order, so the oldest written in-band call is the owner of an id-less error reply.
 */
export class PendingTable {
  readonly #byId = new Map<number, PendingCall>();
  /** Ids of calls that timed out or were aborted after being written: their late replies are expected. */
  readonly #abandoned = new Set<number>();
  /** Calls in the table that were written: read on every chunk over TLS, so kept, not counted. */
  #written = 0;

  get size(): number {
    return this.#byId.size;
  }

  add(call: PendingCall): void {
    this.#byId.set(call.id, call);
  }

  get(id: number): PendingCall | undefined {
    return this.#byId.get(id);
  }

  /** Removes a settled call; `abandoned` remembers its id so a late reply is recognised, not "unknown". */
  delete(call: PendingCall, abandoned = false): void {
    if (this.#byId.get(call.id) === call && call.written) this.#written--;
    this.#byId.delete(call.id);
    if (abandoned && call.written) {
      this.#abandoned.add(call.id);
      // Bounded: remember only recent abandoned ids.
      if (this.#abandoned.size > 4096) {
        const first = this.#abandoned.values().next();
        if (!first.done) this.#abandoned.delete(first.value);
      }
    }
  }

  /** True (once) when `id` belongs to a call that was abandoned after it was written. */
  takeAbandoned(id: number): boolean {
    return this.#abandoned.delete(id);
  }

  /** Marks a call as handed to the socket: from then on it may run in QEMU. */
  markWritten(call: PendingCall): void {
    if (call.written) return;
    call.written = true;
    if (this.#byId.get(call.id) === call) this.#written++;
  }

  /** Calls written and not yet answered. */
  writtenCount(): number {
    return this.#written;
  }

  /** The oldest written in-band call: the owner of an id-less reply. */
  oldestWrittenInBand(): PendingCall | undefined {
    for (const c of this.#byId.values()) if (c.written && !c.oob) return c;
    return undefined;
  }

  /** Removes and returns every call. */
  drain(): PendingCall[] {
    const all = [...this.#byId.values()];
    this.#byId.clear();
    this.#written = 0;
    return all;
  }
}
