import type { JsonValue } from '../wire/json-value.js';
import type { Deadline } from './deadline.js';
import { IdAllocator } from './id-allocator.js';
import type { RequestLine } from './request-encoder.js';

/** One command the client accepted and has not settled yet. */
export interface PendingCall {
  readonly id: number;
  readonly command: string;
  readonly args: unknown;
  readonly oob: boolean;
  /** Sent without an id: at most one such call is in the tracker at a time (see {@link RequestTracker}). */
  readonly idless: boolean;
  /** The encoded request line (without the id when {@link idless}). */
  readonly line: RequestLine;
  /** Descriptors sent with the line (`SCM_RIGHTS`), or undefined. */
  readonly fds?: readonly number[] | undefined;
  /** Resolve with the JSON text of `return` as the server wrote it, not the decoded value. */
  readonly returnText: boolean;
  /** Called as soon as the reply is read, before later messages are handled. */
  readonly onReply: (() => void) | undefined;
  /** True once the request was handed to the transport: from then on it may run in QEMU. */
  written: boolean;
  deadline: Deadline | undefined;
  resolve(value: JsonValue): void;
  reject(err: Error): void;
}

/** What a reply's id matched. `write` lists the held calls it let go: write them now, in order. */
export type ReplyMatch =
  | { kind: 'call'; call: PendingCall; write: PendingCall[] }
  | { kind: 'late'; write: PendingCall[] }
  | { kind: 'unknown' };

/**
 * Every command in flight, and nothing else owns any of it: ids (from an {@link IdAllocator}), the
 * calls waiting for a reply, the in-band window, and the ids of calls that were given up (timeout,
 * abort) after being written, whose late reply must be recognised and dropped. The tracker never
 * writes: {@link add} and {@link match} return the calls to write next, so the reply path never calls
 * into the send path.
 *
 * One in-band call at a time may go without an id: QEMU reads requests a byte per system call, so
 * the id is a fifth of a short request's cost, and a client that waits for each reply (the common
 * case, and every client behind a proxy that is not pipelining) never needs one. QEMU echoes the id
 * of every request it could read, and the client only sends requests it can read, so a reply without
 * an id is that one call's; every other call carries an id and is matched by it alone.
 */
export class RequestTracker {
  readonly #ids: IdAllocator;
  readonly #calls = new Map<number, PendingCall>();
  /** Given-up written calls waiting for their late reply: id -> what it was. */
  readonly #late = new Map<number, { readonly oob: boolean; readonly fds: boolean }>();
  /** In-band calls waiting for room in the window, in order. */
  readonly #held: PendingCall[] = [];
  /** In-band calls written and not answered (given-up ones included: QEMU still queues them). */
  #inBandOut = 0;
  #writtenOut = 0;
  /**
   * Calls with descriptors written and not answered (0 or 1). QEMU keeps the descriptors of the last
   * message that brought some until a command takes them, and replaces them when the next one
   * arrives; it reads requests ahead of running them, so a second request with descriptors must not
   * reach it before the first one's reply: it would take the second one's descriptors.
   */
  #fdsOut = 0;
  #window = Number.POSITIVE_INFINITY;
  /** The key of the call sent without an id, live or given up, until its reply comes. */
  #idlessId: number | undefined;

  constructor(ids: IdAllocator = new IdAllocator()) {
    this.#ids = ids;
  }

  /** Calls accepted and not settled. */
  get size(): number {
    return this.#calls.size;
  }

  /** Slots taken: live calls and given-up written calls whose reply has not come (what the pending limit bounds). */
  get occupied(): number {
    return this.#calls.size + this.#late.size;
  }

  /** Requests written whose reply has not come yet (given-up ones included). */
  get outstanding(): number {
    return this.#writtenOut + this.#late.size;
  }

  /**
   * At most `n` in-band commands written and unanswered; the rest wait here in order. QEMU with OOB
   * stops reading once its in-band queue is full, which would hold back `exec-oob` requests too.
   */
  setWindow(n: number): void {
    this.#window = n;
  }

  /** True when a call without an id is in the tracker: the next call must carry one. */
  get idlessOut(): boolean {
    return this.#idlessId !== undefined;
  }

  /** Takes an id for a request. Give it back with {@link add} or {@link release}. */
  takeId(): number {
    return this.#ids.take();
  }

  /** Gives back an id that was taken and never used. */
  release(id: number): void {
    this.#free(id);
  }

  /** Adds a call; returns the calls to write now (the call itself, or none when it must wait). */
  add(call: PendingCall): PendingCall[] {
    this.#calls.set(call.id, call);
    if (call.idless) this.#idlessId = call.id;
    // Held calls go in order; only exec-oob without descriptors overtakes them.
    const hold = this.#held.length > 0 ? call.fds !== undefined || !call.oob : !this.#mayWrite(call);
    if (hold) {
      this.#held.push(call);
      return [];
    }
    this.#markWritten(call);
    return [call];
  }

  /**
   * Gives a call up (timeout, abort) without settling it. One never written is forgotten and its id
   * reused; a written one keeps its id (and its window slot) until its late reply comes.
   */
  abandon(call: PendingCall): void {
    if (this.#calls.get(call.id) !== call) return;
    this.#calls.delete(call.id);
    if (!call.written) {
      this.#held.splice(this.#held.indexOf(call), 1);
      this.#free(call.id);
      return;
    }
    this.#writtenOut--;
    this.#late.set(call.id, { oob: call.oob, fds: call.fds !== undefined });
  }

  /** Matches a reply's id: removes its call (or late id) and frees its id and window slot. */
  match(id: unknown): ReplyMatch {
    // The id-less call's key was never sent, so no reply can name it.
    if (typeof id !== 'number' || id === this.#idlessId) return { kind: 'unknown' };
    return this.#settle(id);
  }

  /**
   * Matches a reply without an id: the call sent without one, once written. Otherwise QEMU could not
   * read one of the requests at all, which is provably the sole written request's when exactly one
   * is outstanding; with more it could be any of theirs: `ambiguous`.
   */
  matchIdless(): ReplyMatch | { kind: 'ambiguous' } {
    const idless = this.#idlessId;
    if (idless !== undefined && (this.#late.has(idless) || this.#calls.get(idless)?.written === true))
      return this.#settle(idless);
    if (this.outstanding === 0) return { kind: 'unknown' };
    if (this.outstanding > 1) return { kind: 'ambiguous' };
    for (const id of this.#late.keys()) return this.#settle(id);
    for (const call of this.#calls.values()) if (call.written) return this.#settle(call.id);
    return { kind: 'unknown' };
  }

  #settle(id: number): ReplyMatch {
    const call = this.#calls.get(id);
    if (call?.written) {
      this.#calls.delete(id);
      this.#writtenOut--;
      this.#free(id);
      return { kind: 'call', call, write: this.#answered(call.oob, call.fds !== undefined) };
    }
    const late = this.#late.get(id);
    if (late === undefined) return { kind: 'unknown' };
    this.#late.delete(id);
    this.#free(id);
    return { kind: 'late', write: this.#answered(late.oob, late.fds) };
  }

  #free(id: number): void {
    if (id === this.#idlessId) this.#idlessId = undefined;
    this.#ids.release(id);
  }

  /** Removes and returns every live call (the session is over). */
  drain(): PendingCall[] {
    const all = [...this.#calls.values()];
    this.#calls.clear();
    this.#late.clear();
    this.#held.length = 0;
    this.#inBandOut = 0;
    this.#writtenOut = 0;
    this.#fdsOut = 0;
    this.#idlessId = undefined;
    return all;
  }

  #markWritten(call: PendingCall): void {
    call.written = true;
    this.#writtenOut++;
    if (!call.oob) this.#inBandOut++;
    if (call.fds !== undefined) this.#fdsOut++;
  }

  /** Whether a held call may be written now: room in the window, and no call with descriptors out. */
  #mayWrite(call: PendingCall): boolean {
    if (call.fds !== undefined && this.#fdsOut > 0) return false;
    return call.oob || this.#inBandOut < this.#window;
  }

  /** A reply came: an in-band one frees a slot, one with descriptors lets the next such go. */
  #answered(oob: boolean, fds: boolean): PendingCall[] {
    if (fds) this.#fdsOut--;
    if (!oob) this.#inBandOut--;
    else if (!fds) return [];
    const out: PendingCall[] = [];
    while (this.#held.length > 0 && this.#mayWrite(this.#held[0] as PendingCall)) {
      const next = this.#held.shift() as PendingCall;
      this.#markWritten(next);
      out.push(next);
    }
    return out;
  }
}
