import { randomInt } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { Deadline } from '../client/deadline.js';
import { QmpCommandError } from '../errors/qmp-command-error.js';
import {
  QmpConnectionError,
  type QmpError,
  QmpLimitError,
  QmpStateError,
  QmpTimeoutError,
  QmpUsageError,
} from '../errors/qmp-error.js';
import { CLIENT_CLOSE_TIMEOUT_MS, MAX_QGA_QUEUED_COMMANDS } from '../limits.js';
import { traceAnomaly, traceIn, traceOut } from '../trace/trace.js';
import { encodeMessage } from '../wire/json-encoder.js';
import type { JsonObject, JsonValue } from '../wire/json-value.js';
import type { QgaClientOptions } from './qga-options.js';
import { QGA_SENTINEL, type QgaReader, type QgaReadItem } from './qga-reader.js';

/** The session's life: open, closing (after `close()`), closed. */
export type QgaSessionState = 'open' | 'closing' | 'closed';

/** One call waiting or in flight. `sync` calls only synchronise. */
interface Call {
  readonly kind: 'command' | 'sync';
  readonly name: string;
  readonly args: JsonObject | undefined;
  /** The agent never answers it on success: it is done once written. */
  readonly noReply: boolean;
  /** Report a deadline as `QMP_ERR_CONNECT_TIMEOUT` (the sync of `connect`). */
  readonly connecting: boolean;
  readonly resolve: (v: JsonValue | undefined) => void;
  readonly reject: (e: Error) => void;
  deadline: Deadline | undefined;
  settled: boolean;
}

/** What the agent is working on: a sync (for the call at the head of the queue) or a command. */
type InFlight =
  | {
      readonly kind: 'sync';
      readonly call: Call;
      readonly id: number;
      readonly delimited: boolean;
      sawSentinel: boolean;
    }
  | { readonly kind: 'command'; readonly call: Call };

const SOURCE = 'qga';
/** Ids for guest-sync stay integers JavaScript holds exactly, so the agent's echo compares equal. */
const MAX_SYNC_ID = 2 ** 48;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function errorOf(v: Record<string, unknown>): { errorClass: string; desc: string } | undefined {
  const e = v['error'];
  if (!isObject(e) || typeof e['class'] !== 'string' || typeof e['desc'] !== 'string') return undefined;
  return { errorClass: e['class'], desc: e['desc'] };
}

/**
 * One connection to a guest agent and its session rules: the agent has no greeting and no ids and
 * answers one command at a time, so one call is in flight and the rest wait; before the first
 * command, and after anything that may leave a stale reply in the channel (a timeout, an abort, a
 * command that never answers, bytes nobody asked for), the session synchronises with
 * `guest-sync-delimited` (or `guest-sync` when the agent lacks it) and discards everything up to
 * the reply carrying its random id.
 */
export class QgaSession {
  readonly #stream: Duplex;
  readonly #reader: QgaReader;
  readonly #label: string;
  readonly #maxQueued: number;
  readonly #closeTimeoutMs: number;
  readonly #syncId: () => number;
  readonly #queue: Call[] = [];
  #current: InFlight | undefined;
  #needSync = true;
  /** The agent answered `guest-sync-delimited` with CommandNotFound: use `guest-sync`. */
  #delimited = true;
  /** A sentinel came while no sync was under way: the value after it is a stale sync reply. */
  #skipNext = false;
  #state: QgaSessionState = 'open';
  readonly #closed: Promise<QmpError | undefined>;
  #resolveClosed!: (reason: QmpError | undefined) => void;

  constructor(stream: Duplex, reader: QgaReader, label: string, options: QgaClientOptions) {
    this.#stream = stream;
    this.#reader = reader;
    this.#label = label;
    this.#maxQueued = positiveInteger('maxQueuedCommands', options.maxQueuedCommands, MAX_QGA_QUEUED_COMMANDS);
    this.#closeTimeoutMs = options.closeTimeoutMs ?? CLIENT_CLOSE_TIMEOUT_MS;
    this.#syncId = options.syncId ?? (() => randomInt(1, MAX_SYNC_ID));
    this.#closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    stream.on('data', (chunk: Buffer) => {
      for (const item of this.#reader.push(chunk)) this.#onItem(item);
    });
    stream.on('end', () => this.#lost(undefined));
    stream.on('close', () => this.#lost(undefined));
    stream.on('error', (err: Error) => this.#lost(err));
  }

  get state(): QgaSessionState {
    return this.#state;
  }

  /** Calls waiting plus the one in flight. */
  get pendingCount(): number {
    return this.#queue.length + (this.#current?.kind === 'command' ? 1 : 0);
  }

  /** True when the next command will be preceded by a sync. */
  get needsSync(): boolean {
    return this.#needSync;
  }

  get closed(): Promise<QmpError | undefined> {
    return this.#closed;
  }

  /** Queues a command; resolves with its `return` (`undefined` for a command that never answers). */
  request(
    name: string,
    args: JsonObject | undefined,
    noReply: boolean,
    timeoutMs: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<JsonValue | undefined> {
    return this.#enqueue('command', name, args, noReply, false, timeoutMs, signal);
  }

  /** Synchronises now, even if the session is in step. */
  sync(timeoutMs: number | undefined, signal: AbortSignal | undefined, connecting = false): Promise<void> {
    const name = this.#delimited ? 'guest-sync-delimited' : 'guest-sync';
    return this.#enqueue('sync', name, undefined, false, connecting, timeoutMs, signal).then(() => undefined);
  }

  #enqueue(
    kind: Call['kind'],
    name: string,
    args: JsonObject | undefined,
    noReply: boolean,
    connecting: boolean,
    timeoutMs: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<JsonValue | undefined> {
    if (this.#state !== 'open') {
      return Promise.reject(
        new QmpStateError('QMP_ERR_CLOSED', `${name}: the guest agent session is ${this.#state}`, this.#state),
      );
    }
    if (this.#queue.length >= this.#maxQueued) {
      return Promise.reject(
        new QmpLimitError(
          `${name}: ${this.#maxQueued} guest agent calls already wait (maxQueuedCommands); nothing was sent`,
          'maxQueuedCommands',
          this.#maxQueued,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const call: Call = {
        kind,
        name,
        args,
        noReply,
        connecting,
        resolve,
        reject,
        deadline: undefined,
        settled: false,
      };
      this.#queue.push(call);
      call.deadline = new Deadline(name, timeoutMs, signal, (err) => this.#expire(call, err));
      this.#pump();
    });
  }

  #settle(call: Call): boolean {
    if (call.settled) return false;
    call.settled = true;
    call.deadline?.clear();
    const i = this.#queue.indexOf(call);
    if (i >= 0) this.#queue.splice(i, 1);
    return true;
  }

  #expire(call: Call, err: Error): void {
    if (call.settled) return;
    const cur = this.#current;
    const syncing = cur?.kind === 'sync' && cur.call === call;
    if (cur?.call === call) {
      // Its answer (or the sync's) may still come: make the next call synchronise past it.
      this.#current = undefined;
      this.#needSync = true;
    }
    this.#settle(call);
    if (syncing && err instanceof QmpTimeoutError) {
      err = new QmpTimeoutError(
        `${this.#label}: the guest agent did not answer ${cur.delimited ? 'guest-sync-delimited' : 'guest-sync'} within ${err.timeoutMs} ms (is qemu-ga running in the guest, and the VM started?)`,
        err.timeoutMs,
        { code: call.connecting ? 'QMP_ERR_CONNECT_TIMEOUT' : 'QMP_ERR_TIMEOUT' },
      );
    }
    call.reject(err);
    this.#pump();
  }

  #pump(): void {
    while (this.#state === 'open' && this.#current === undefined) {
      const call = this.#queue[0];
      if (call === undefined) return;
      if (call.kind === 'sync' || this.#needSync) {
        this.#startSync(call, this.#delimited);
        return;
      }
      this.#queue.shift();
      const message = call.args === undefined ? { execute: call.name } : { execute: call.name, arguments: call.args };
      traceOut(SOURCE, this.#label, message);
      if (!call.noReply) {
        this.#current = { kind: 'command', call };
        this.#stream.write(encodeMessage(message));
        return;
      }
      // QEMU documents that these never answer on success; an error reply, if any, is stale for
      // the next call, so it synchronises first.
      this.#needSync = true;
      this.#stream.write(encodeMessage(message), (err) => {
        if (err == null && this.#settle(call)) call.resolve(undefined);
      });
    }
  }

  #startSync(call: Call, delimited: boolean): void {
    const id = this.#syncId();
    this.#current = { kind: 'sync', call, id, delimited, sawSentinel: false };
    this.#skipNext = false;
    const message = { execute: delimited ? 'guest-sync-delimited' : 'guest-sync', arguments: { id } };
    traceOut(SOURCE, this.#label, message);
    // The leading 0xFF makes the agent drop whatever a previous client left half written.
    this.#stream.write(Buffer.concat([Buffer.of(QGA_SENTINEL), Buffer.from(encodeMessage(message))]));
  }

  #onItem(item: QgaReadItem): void {
    const cur = this.#current;
    if (item.kind === 'sentinel') {
      if (cur?.kind === 'sync' && cur.delimited) cur.sawSentinel = true;
      else {
        traceAnomaly(SOURCE, this.#label, 'a sync sentinel nobody asked for: the reply after it is discarded');
        this.#skipNext = true;
        this.#needSync = true;
      }
      return;
    }
    if (item.kind === 'garbage') {
      traceAnomaly(SOURCE, this.#label, `discarded: ${item.error.message}`);
      if (cur?.kind === 'command' && item.error.code === 'QMP_ERR_LIMIT') {
        // The reply that was too big was this command's.
        this.#current = undefined;
        this.#needSync = true;
        if (this.#settle(cur.call)) cur.call.reject(item.error);
        this.#pump();
      } else if (cur?.kind !== 'sync') this.#needSync = true;
      return;
    }
    const v = item.value;
    traceIn(SOURCE, this.#label, v);
    if (cur?.kind === 'sync') {
      this.#onSyncReply(cur, v);
      return;
    }
    if (this.#skipNext || cur === undefined || !isObject(v)) {
      this.#skipNext = false;
      this.#needSync = true;
      traceAnomaly(SOURCE, this.#label, 'a reply nobody waits for was discarded', v);
      return;
    }
    const error = errorOf(v);
    if (!('return' in v) && error === undefined) {
      this.#needSync = true;
      traceAnomaly(SOURCE, this.#label, 'not a reply: discarded', v);
      return;
    }
    this.#current = undefined;
    const call = cur.call;
    if (this.#settle(call)) {
      if (error === undefined) call.resolve(v['return'] as JsonValue);
      else
        call.reject(
          new QmpCommandError(error.errorClass, error.desc, { command: call.name, arguments: call.args, reply: v }),
        );
    }
    this.#pump();
  }

  #onSyncReply(cur: Extract<InFlight, { kind: 'sync' }>, v: JsonValue): void {
    if (!isObject(v)) return;
    const error = errorOf(v);
    if (
      cur.delimited &&
      error?.errorClass === 'CommandNotFound' &&
      error.desc.includes('guest-sync-delimited') &&
      !cur.sawSentinel
    ) {
      // An agent without guest-sync-delimited (or with it blocked): fall back to guest-sync.
      this.#delimited = false;
      this.#startSync(cur.call, false);
      return;
    }
    if (cur.delimited && !cur.sawSentinel) return;
    if (v['return'] !== cur.id) {
      traceAnomaly(SOURCE, this.#label, 'stale data discarded while synchronising', v);
      return;
    }
    this.#current = undefined;
    this.#needSync = false;
    const call = cur.call;
    if (call.kind === 'sync' && this.#settle(call)) call.resolve(cur.id);
    this.#pump();
  }

  #lost(err: Error | undefined): void {
    if (this.#state === 'closed') return;
    const closing = this.#state === 'closing';
    this.#state = 'closed';
    const cur = this.#current;
    this.#current = undefined;
    const why = err === undefined ? 'the connection was closed' : `${err.message}`;
    const lostError = new QmpConnectionError('QMP_ERR_DISCONNECTED', `${this.#label}: guest agent: ${why}`, {
      address: this.#label,
      cause: err,
    });
    if (cur?.kind === 'command' && this.#settle(cur.call)) {
      cur.call.reject(
        new QmpConnectionError(
          'QMP_ERR_DISCONNECTED',
          `${this.#label}: ${why} while ${cur.call.name} was in flight; it may or may not have run in the guest`,
          { address: this.#label, cause: err },
        ),
      );
    }
    for (const call of [...this.#queue]) if (this.#settle(call)) call.reject(lostError);
    this.#stream.destroy();
    this.#resolveClosed(closing ? undefined : lostError);
  }

  /** Ends the session: waiting calls reject with `QMP_ERR_CLOSED`. Idempotent. */
  async close(): Promise<void> {
    if (this.#state === 'open') {
      this.#state = 'closing';
      const cur = this.#current;
      this.#current = undefined;
      const calls = cur === undefined ? [...this.#queue] : [cur.call, ...this.#queue];
      for (const call of calls) {
        if (this.#settle(call))
          call.reject(new QmpStateError('QMP_ERR_CLOSED', `${call.name}: the client was closed`, 'closing'));
      }
      const timer = setTimeout(() => this.#stream.destroy(), this.#closeTimeoutMs);
      this.#stream.end();
      await this.#closed;
      clearTimeout(timer);
    }
    await this.#closed;
  }
}

function positiveInteger(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < 1) throw new QmpUsageError(`${name} must be an integer >= 1, got ${String(v)}`);
  return v;
}
