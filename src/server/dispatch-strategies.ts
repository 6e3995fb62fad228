import { QmpUsageError } from '../errors/index.js';
import type { QValue } from '../wire/index.js';
import { isThenable } from './is-thenable.js';

/** One item of a session's in-band queue: a parsed request, or a parse error (queued like a request). */
export type QmpQueuedInput = { readonly value: QValue } | { readonly error: string };

/** @internal A session's in-band queue as a scheduler sees it. */
export interface QmpRequestQueue {
  readonly label: string;
  /** True when in-band input is queued (and the session is open). */
  hasQueued(): boolean;
  /** Takes the next input; `done()` must be called once its reply is written. */
  takeQueued(): { readonly input: QmpQueuedInput; done(): void } | undefined;
}

/** @internal What a scheduler drives: the server's dispatcher. `O` is its reply, opaque here. */
export interface QmpDispatchTarget<Q extends QmpRequestQueue, O> {
  /** Checks and starts one request; a result that is a promise settles once the handler has. */
  start(queue: Q, input: QmpQueuedInput): O | Promise<O>;
  /** Writes the reply. */
  deliver(queue: Q, outcome: O): void;
  /** A bug in the server: costs that connection, not the process. */
  fault(queue: Q, err: unknown): void;
}

/** @internal Decides when a server's queued requests run. */
export interface QmpScheduler<Q extends QmpRequestQueue> {
  add(queue: Q): void;
  remove(queue: Q): void;
  /** The queue has input (again). */
  wake(queue: Q): void;
}

/** @internal What the read rules see of a session. */
export interface QmpInputState {
  readonly negotiated: boolean;
  readonly oobEnabled: boolean;
  /** In-band requests read and not yet taken. */
  readonly queued: number;
  /** In-band requests taken and not yet answered. */
  readonly inFlight: number;
  /** The server's `maxQueuedRequests`. */
  readonly maxQueued: number;
}

/**
 * @internal When a session reads on. A session stops reading after queuing an in-band request
 * unless `afterQueued` allows more; it resumes when `afterTaken` or `afterAnswered` says so.
 */
export interface QmpReadRules {
  afterQueued(s: QmpInputState): boolean;
  afterTaken(s: QmpInputState): boolean;
  afterAnswered(s: QmpInputState): boolean;
  /** Input shaped like `exec-oob` runs at once (true) or waits its turn in the queue (false). */
  oobRunsAtOnce(s: QmpInputState): boolean;
}

/**
 * How a {@link QmpServer} schedules in-band requests: create one with {@link qemuDispatch} or
 * {@link pipelinedDispatch} and pass it as the `dispatch` option. Out-of-band requests
 * (`exec-oob` with OOB enabled) always run at once, whatever the strategy.
 */
export interface QmpDispatchStrategy {
  /** `qemu` or `pipelined`, for traces and errors. */
  readonly name: string;
  /** @internal */
  readonly readRules: QmpReadRules;
  /** @internal */
  createScheduler<Q extends QmpRequestQueue, O>(target: QmpDispatchTarget<Q, O>): QmpScheduler<Q>;
}

/**
 * QEMU's reading (monitor/qmp.c): without OOB a monitor stops reading after each request until its
 * reply is written; with OOB it reads on while its queue has room, so OOB requests can overtake the
 * queued ones.
 */
const QEMU_READ_RULES: QmpReadRules = {
  afterQueued: (s) => s.oobEnabled && s.queued < s.maxQueued,
  afterTaken: (s) => s.oobEnabled && s.queued < s.maxQueued,
  afterAnswered: (s) => !s.oobEnabled || s.queued < s.maxQueued,
  // QEMU runs anything shaped like `exec-oob` at once, even when OOB is off (it then fails with
  // "'exec-oob' is unexpected" without going through the queue).
  oobRunsAtOnce: () => true,
};

/** Round-robin over all sessions, one request at a time: QEMU's monitor dispatcher bottom half. */
class RoundRobinScheduler<Q extends QmpRequestQueue, O> implements QmpScheduler<Q> {
  readonly #target: QmpDispatchTarget<Q, O>;
  readonly #ring: Q[] = [];
  #dispatching = false;
  #scheduled = false;

  constructor(target: QmpDispatchTarget<Q, O>) {
    this.#target = target;
  }

  add(queue: Q): void {
    this.#ring.push(queue);
  }

  remove(queue: Q): void {
    const i = this.#ring.indexOf(queue);
    if (i !== -1) this.#ring.splice(i, 1);
  }

  wake(): void {
    if (this.#dispatching || this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      void this.#drain();
    });
  }

  /** Takes from the first session with input, then moves it to the back. */
  #pick(): Q | undefined {
    const i = this.#ring.findIndex((q) => q.hasQueued());
    if (i === -1) return undefined;
    const [q] = this.#ring.splice(i, 1);
    if (q !== undefined) this.#ring.push(q);
    return q;
  }

  async #drain(): Promise<void> {
    this.#dispatching = true;
    try {
      for (let queue = this.#pick(); queue !== undefined; queue = this.#pick()) {
        const taken = queue.takeQueued();
        if (taken === undefined) continue;
        try {
          let outcome = this.#target.start(queue, taken.input);
          if (isThenable(outcome)) outcome = await outcome;
          this.#target.deliver(queue, outcome);
        } catch (err) {
          this.#target.fault(queue, err);
        } finally {
          taken.done();
        }
      }
    } finally {
      this.#dispatching = false;
    }
  }
}

/**
 * QEMU's dispatcher (the default): one in-band command at a time across every session of the
 * server, taken from the sessions round-robin; each session reads like a QEMU monitor.
 */
export function qemuDispatch(): QmpDispatchStrategy {
  return {
    name: 'qemu',
    readRules: QEMU_READ_RULES,
    createScheduler: (target) => new RoundRobinScheduler(target),
  };
}

/** Options of {@link pipelinedDispatch}. */
export interface QmpPipelinedDispatchOptions {
  /**
   * In-band requests of one session in flight at once (default 1: one at a time per session, the
   * sessions concurrently). While this many are unanswered the session is not read.
   */
  depth?: number;
}

interface SessionState {
  inFlight: number;
  /** The delivery of the last reply started, which the next one waits for. */
  tail: Promise<void> | undefined;
  scheduled: boolean;
  pumping: boolean;
}

/** Each session on its own, up to `depth` requests started in order, replies written in order. */
class PipelinedScheduler<Q extends QmpRequestQueue, O> implements QmpScheduler<Q> {
  readonly #target: QmpDispatchTarget<Q, O>;
  readonly #depth: number;
  readonly #state = new Map<Q, SessionState>();

  constructor(target: QmpDispatchTarget<Q, O>, depth: number) {
    this.#target = target;
    this.#depth = depth;
  }

  add(queue: Q): void {
    this.#state.set(queue, { inFlight: 0, tail: undefined, scheduled: false, pumping: false });
  }

  remove(queue: Q): void {
    this.#state.delete(queue);
  }

  wake(queue: Q): void {
    const st = this.#state.get(queue);
    if (st === undefined || st.scheduled) return;
    st.scheduled = true;
    queueMicrotask(() => {
      st.scheduled = false;
      this.#pump(queue, st);
    });
  }

  #pump(queue: Q, st: SessionState): void {
    if (st.pumping) return;
    st.pumping = true;
    try {
      while (st.inFlight < this.#depth) {
        const taken = queue.takeQueued();
        if (taken === undefined) break;
        st.inFlight++;
        if (!this.#start(queue, st, taken)) break;
      }
    } finally {
      st.pumping = false;
    }
  }

  /** Starts one request; false when the session faulted. */
  #start(queue: Q, st: SessionState, taken: { input: QmpQueuedInput; done(): void }): boolean {
    const finish = (): void => {
      taken.done();
      st.inFlight--;
      this.#pump(queue, st);
    };
    let outcome: O | Promise<O>;
    try {
      outcome = this.#target.start(queue, taken.input);
    } catch (err) {
      this.#target.fault(queue, err);
      finish();
      return false;
    }
    if (st.tail === undefined && !isThenable(outcome)) {
      // Nothing before it is unanswered: the reply goes out now, as QEMU's would.
      try {
        this.#target.deliver(queue, outcome);
      } catch (err) {
        this.#target.fault(queue, err);
      }
      finish();
      return true;
    }
    const before = st.tail;
    let tail: Promise<void> | undefined;
    tail = (async (): Promise<void> => {
      try {
        if (before !== undefined) await before;
        this.#target.deliver(queue, isThenable(outcome) ? await outcome : outcome);
      } catch (err) {
        this.#target.fault(queue, err);
      } finally {
        if (st.tail === tail) st.tail = undefined;
        finish();
      }
    })();
    st.tail = tail;
    return true;
  }
}

/**
 * Reading rules of a pipelined session: after negotiation it reads ahead while fewer than `depth`
 * requests are unanswered. Until `qmp_capabilities` is answered it reads like QEMU, one request at
 * a time, so an `exec-oob` sent in the same burst sees OOB already enabled. Without OOB an
 * `exec-oob` read ahead waits its turn in the queue: QEMU would only read it once the replies
 * before it were written, so its error comes in that place.
 */
function pipelinedReadRules(depth: number): QmpReadRules {
  if (depth === 1) return QEMU_READ_RULES;
  const room = (s: QmpInputState): boolean => s.queued + s.inFlight < depth;
  return {
    afterQueued: (s) => (s.negotiated ? room(s) : QEMU_READ_RULES.afterQueued(s)),
    afterTaken: (s) => (s.negotiated ? room(s) : QEMU_READ_RULES.afterTaken(s)),
    afterAnswered: (s) => (s.negotiated ? room(s) : QEMU_READ_RULES.afterAnswered(s)),
    oobRunsAtOnce: (s) => s.oobEnabled || !s.negotiated,
  };
}

/**
 * Each session runs its in-band requests on its own, concurrently with the other sessions, up to
 * `depth` at once; they start in order and their replies are written in order. A proxy in front of
 * QEMU uses this so one client's pipelined commands reach QEMU pipelined. Negotiation still goes
 * one request at a time, so the order a client sees is QEMU's.
 */
export function pipelinedDispatch(options: QmpPipelinedDispatchOptions = {}): QmpDispatchStrategy {
  const depth = options.depth ?? 1;
  if (!Number.isInteger(depth) || depth < 1)
    throw new QmpUsageError(`pipelinedDispatch depth must be a positive integer, got ${String(depth)}`);
  return {
    name: 'pipelined',
    readRules: pipelinedReadRules(depth),
    createScheduler: (target) => new PipelinedScheduler(target, depth),
  };
}
