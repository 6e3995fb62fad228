// Drives a QEMU job to its end the way QEMU expects to be driven: subscribe first (a job's events may
// come before its command's reply), complete a ready mirror, finalize a pending job, dismiss a
// concluded one, and report the job's own error. A job that stays `concluded` holds its nodes, and
// a `BLOCK_JOB_COMPLETED` waited for after `job-complete` may already have passed: both are the
// usual bugs of hand-written job loops.
import { QmpConnectionError } from '../errors/qmp-error.js';
import { QmpJobError } from '../errors/qmp-job-error.js';
import type { QmpCommandMap, QmpEventMap } from '../protocol/command-map.js';
import type { QmpEvent } from '../protocol/messages.js';
import type { JobStatusChangeDataStatus } from '../qapi/7.2/index.js';
import type { JsonObject, JsonValue } from '../wire/json-value.js';
import { Deadline } from './deadline.js';
import type { QmpEventIterator, QmpEventsOptions } from './event-hub.js';
import type { QmpExecuteOptions } from './options.js';
import type { QmpClient } from './qmp-client.js';

/** QEMU's JobStatus (the same in every bundled release). */
export type QmpJobStatus = JobStatusChangeDataStatus;

/** The part of a client the job and migration helpers use; every `QmpClient` has it. */
export interface QmpHelperClient {
  executeRaw(
    name: string,
    args?: JsonObject | Record<string, unknown>,
    options?: QmpExecuteOptions,
  ): Promise<JsonValue>;
  events(options?: QmpEventsOptions<string, unknown>): QmpEventIterator<QmpEvent<unknown>>;
}

/** Options of {@link waitJob} and {@link runJob}. */
export interface QmpWaitJobOptions {
  /**
   * Where the wait ends: `ready` (a mirror or active commit has copied everything and waits for
   * `job-complete`), `pending` (waits for `job-finalize`), or `concluded` (the default: the job is over).
   */
  until?: 'ready' | 'pending' | 'concluded';
  /** Send `job-complete` when the job is ready (default: true unless `until` is `ready`). */
  complete?: boolean;
  /** Send `job-finalize` when a job started with `auto-finalize: false` is pending (default true). */
  finalize?: boolean;
  /** Send `job-dismiss` when a job started with `auto-dismiss: false` is concluded (default true). */
  dismiss?: boolean;
  /** Deadline for the whole wait, ms. Rejects with `QMP_ERR_TIMEOUT`. */
  timeoutMs?: number;
  /** Ends the wait with `QMP_ERR_ABORTED`. */
  signal?: AbortSignal;
  /**
   * On timeout or abort, cancel the job (and dismiss it once concluded). Default: true for
   * {@link runJob}, which started the job, false for {@link waitJob}.
   */
  cancelOnAbort?: boolean;
  /** Called with each status the job reports, in order. */
  onStatus?: (status: QmpJobStatus) => void;
}

/** How a job's wait ended. */
export interface QmpJobResult {
  id: string;
  /** `mirror`, `backup`, `commit`, `stream`, ... when QEMU said. */
  type: string | undefined;
  /** `ready`, `pending` or `concluded`: where the wait stopped. */
  status: 'ready' | 'pending' | 'concluded';
  /** Bytes done and total, from the last block-job event or query-jobs, when known. */
  offset: number | undefined;
  len: number | undefined;
}

const JOB_EVENTS = [
  'JOB_STATUS_CHANGE',
  'BLOCK_JOB_READY',
  'BLOCK_JOB_PENDING',
  'BLOCK_JOB_COMPLETED',
  'BLOCK_JOB_CANCELLED',
  'BLOCK_JOB_ERROR',
] as const;

/** Any client's untyped side: the helpers send untyped commands and read untyped events. */
export function asHelperClient<C extends QmpCommandMap<C>, E extends QmpEventMap<E>>(
  qmp: QmpClient<C, E>,
): QmpHelperClient {
  return qmp as unknown as QmpHelperClient;
}

function data(e: QmpEvent<unknown>): Record<string, unknown> {
  return typeof e.data === 'object' && e.data !== null ? (e.data as Record<string, unknown>) : {};
}

function subscribe(client: QmpHelperClient, id: string): QmpEventIterator<QmpEvent<unknown>> {
  return client.events({
    names: JOB_EVENTS,
    filter: (e) => {
      const d = data(e);
      return d['id'] === id || (d['id'] === undefined && d['device'] === id);
    },
  });
}

async function queryJob(client: QmpHelperClient, id: string): Promise<Record<string, unknown> | undefined> {
  const jobs = await client.executeRaw('query-jobs');
  if (!Array.isArray(jobs)) return undefined;
  return jobs.find((j) => typeof j === 'object' && j !== null && (j as JsonObject)['id'] === id) as
    | Record<string, unknown>
    | undefined;
}

/** Follows one job's events to where the caller wants it, acting on the way. */
class JobFollower {
  readonly #client: QmpHelperClient;
  readonly #id: string;
  readonly #opts: QmpWaitJobOptions;
  readonly #until: 'ready' | 'pending' | 'concluded';
  #type: string | undefined;
  #offset: number | undefined;
  #len: number | undefined;
  #error: string | undefined;
  #cancelled = false;
  #completeSent = false;
  #finalizeSent = false;

  constructor(client: QmpHelperClient, id: string, opts: QmpWaitJobOptions) {
    this.#client = client;
    this.#id = id;
    this.#opts = opts;
    this.#until = opts.until ?? 'concluded';
  }

  #result(status: 'ready' | 'pending' | 'concluded'): QmpJobResult {
    return { id: this.#id, type: this.#type, status, offset: this.#offset, len: this.#len };
  }

  #progress(d: Record<string, unknown>): void {
    if (typeof d['type'] === 'string') this.#type = d['type'];
    if (typeof d['offset'] === 'number') this.#offset = d['offset'];
    if (typeof d['len'] === 'number') this.#len = d['len'];
    if (typeof d['current-progress'] === 'number') this.#offset = d['current-progress'];
    if (typeof d['total-progress'] === 'number') this.#len = d['total-progress'];
  }

  /** Acts on one status; returns the result when the wait is over. */
  async status(status: QmpJobStatus, waitsForFinalize: boolean): Promise<QmpJobResult | undefined> {
    if (status === 'ready') {
      if (this.#until === 'ready') return this.#result('ready');
      if ((this.#opts.complete ?? true) && !this.#completeSent) {
        this.#completeSent = true;
        await this.#client.executeRaw('job-complete', { id: this.#id });
      }
    } else if (status === 'pending' && waitsForFinalize) {
      if (this.#until === 'pending') return this.#result('pending');
      if ((this.#opts.finalize ?? true) && !this.#finalizeSent) {
        this.#finalizeSent = true;
        await this.#client.executeRaw('job-finalize', { id: this.#id });
      }
    } else if (status === 'concluded' || status === 'null') {
      return this.#concluded(status === 'concluded');
    }
    return undefined;
  }

  async #concluded(mayLinger: boolean): Promise<QmpJobResult> {
    // A job that was not auto-dismissed is still listed, with its error.
    const info = mayLinger ? await queryJob(this.#client, this.#id) : undefined;
    if (info) {
      this.#progress(info);
      if (typeof info['error'] === 'string') this.#error = info['error'];
      if (this.#opts.dismiss ?? true) await this.#client.executeRaw('job-dismiss', { id: this.#id });
    }
    if (this.#error !== undefined) {
      const cancelled = this.#cancelled || this.#error === 'Operation canceled';
      throw new QmpJobError(`job '${this.#id}' ${cancelled ? 'was cancelled' : 'failed'}: ${this.#error}`, {
        id: this.#id,
        type: this.#type,
        error: this.#error,
        cancelled,
      });
    }
    return this.#result('concluded');
  }

  /** One event; returns the result when the wait is over. */
  async event(e: QmpEvent<unknown>): Promise<QmpJobResult | undefined> {
    const d = data(e);
    this.#progress(d);
    switch (e.event) {
      case 'BLOCK_JOB_COMPLETED':
        if (typeof d['error'] === 'string') this.#error = d['error'];
        return undefined;
      case 'BLOCK_JOB_CANCELLED':
        this.#cancelled = true;
        this.#error ??= 'Operation canceled';
        return undefined;
      case 'BLOCK_JOB_PENDING':
        return this.status('pending', true);
      case 'JOB_STATUS_CHANGE': {
        const status = d['status'] as QmpJobStatus;
        this.#opts.onStatus?.(status);
        // `pending` is acted on through BLOCK_JOB_PENDING for block jobs, which QEMU sends only when
        // the job waits for job-finalize; other jobs are checked with query-jobs.
        if (status === 'pending') return this.#pendingOtherJob();
        return this.status(status, false);
      }
      default:
        return undefined;
    }
  }

  async #pendingOtherJob(): Promise<QmpJobResult | undefined> {
    if (this.#type !== undefined && ['mirror', 'backup', 'commit', 'stream'].includes(this.#type)) return undefined;
    const info = await queryJob(this.#client, this.#id);
    if (info?.['status'] !== 'pending') return undefined;
    return this.status('pending', true);
  }

  /** Where a job found by query-jobs stands, for a wait that starts late. */
  async catchUp(info: Record<string, unknown>): Promise<QmpJobResult | undefined> {
    this.#progress(info);
    if (typeof info['error'] === 'string') this.#error = info['error'];
    const status = info['status'] as QmpJobStatus;
    this.#opts.onStatus?.(status);
    // A job seen pending by query-jobs waits for job-finalize: auto-finalized jobs do not stay there.
    return this.status(status, status === 'pending');
  }
}

async function follow(
  client: QmpHelperClient,
  id: string,
  it: QmpEventIterator<QmpEvent<unknown>>,
  opts: QmpWaitJobOptions,
  catchUp: boolean,
  cancelOnAbort: boolean,
): Promise<QmpJobResult> {
  const follower = new JobFollower(client, id, opts);
  let fired: Error | undefined;
  const deadline = new Deadline(
    `waiting for job '${id}'`,
    opts.timeoutMs,
    opts.signal,
    (err) => {
      fired = err;
      void it.return?.();
    },
    `job '${id}' did not reach ${opts.until ?? 'concluded'}`,
  );
  try {
    if (catchUp && fired === undefined) {
      const info = await queryJob(client, id);
      if (info) {
        const r = await follower.catchUp(info);
        if (r) return r;
      }
    }
    while (fired === undefined) {
      const next = await it.next();
      if (next.done) break;
      const r = await follower.event(next.value);
      if (r) return r;
    }
    if (fired !== undefined) {
      if (cancelOnAbort) cancelInBackground(client, id);
      throw fired;
    }
    // The session ended and with it the event stream: a call rejects with the session's own error.
    await client.executeRaw('query-jobs');
    throw new QmpConnectionError('QMP_ERR_DISCONNECTED', `the event stream ended while waiting for job '${id}'`);
  } finally {
    deadline.clear();
    void it.return?.();
  }
}

/** Cancels a job the caller gave up on, and dismisses it once concluded; errors are dropped. */
function cancelInBackground(client: QmpHelperClient, id: string): void {
  const it = subscribe(client, id);
  const run = async (): Promise<void> => {
    try {
      await client.executeRaw('job-cancel', { id });
      // A job already gone or dismissed has nothing left to clean.
      if (!(await queryJob(client, id))) return;
      for await (const e of it) {
        const status = data(e)['status'];
        if (status === 'null') return;
        if (status === 'concluded') {
          await client.executeRaw('job-dismiss', { id });
          return;
        }
      }
    } finally {
      void it.return?.();
    }
  };
  run().catch(() => {});
}

/**
 * Follows job `id`, already started, until `until` (default `concluded`): completes it when ready,
 * finalizes it when pending, dismisses it when concluded (each as the options ask), and rejects
 * with {@link QmpJobError} (`QMP_ERR_JOB`, the job's own error text) if it fails or is cancelled.
 * It starts with query-jobs, so a job that moved on before the wait began is still followed.
 */
export async function waitJob<C extends QmpCommandMap<C>, E extends QmpEventMap<E>>(
  qmp: QmpClient<C, E>,
  id: string,
  options: QmpWaitJobOptions = {},
): Promise<QmpJobResult> {
  const client = asHelperClient(qmp);
  const it = subscribe(client, id);
  return follow(client, id, it, options, true, options.cancelOnAbort ?? false);
}

/**
 * Starts a job with `command` (`blockdev-mirror`, `blockdev-backup`, `block-commit`,
 * `block-stream`, `blockdev-create`, ...) and follows it as {@link waitJob} does. The job's
 * events are subscribed to before the command is sent, so none is lost. The job id is
 * `args['job-id']`, else `args.device` (QEMU's default for block jobs). A command error rejects with
 * QEMU's `QmpCommandError`.
 */
export async function runJob<C extends QmpCommandMap<C>, E extends QmpEventMap<E>>(
  qmp: QmpClient<C, E>,
  command: string,
  args: Record<string, unknown>,
  options: QmpWaitJobOptions = {},
): Promise<QmpJobResult> {
  const client = asHelperClient(qmp);
  const jobId = args['job-id'] ?? args['device'];
  const id = typeof jobId === 'string' ? jobId : '';
  const it = subscribe(client, id);
  try {
    await client.executeRaw(command, args, {
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (err) {
    void it.return?.();
    throw err;
  }
  return follow(client, id, it, options, false, options.cancelOnAbort ?? true);
}
