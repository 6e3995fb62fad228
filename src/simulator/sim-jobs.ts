// QEMU 7.2's job core (job.c, blockjob.c) for the simulator: the status machine with its verb table,
// JOB_STATUS_CHANGE and the BLOCK_JOB_* events in QEMU's order, user pause, speed, and progress that
// advances over time in chunks, as QEMU's rate limiter lets a job copy a chunk and then sleep.
import { QmpCommandError } from '../errors/qmp-command-error.js';
import type { JobStatusChangeDataStatus } from '../qapi/7.2/index.js';
import { isQemuIdentifier } from './qemu-identifier.js';

/** QEMU's JobStatus (the same in every bundled release). */
export type SimJobStatus = JobStatusChangeDataStatus;

/** The block job types the simulator runs. */
export type SimJobType = 'mirror' | 'backup' | 'commit' | 'stream';

type Verb = 'cancel' | 'pause' | 'resume' | 'set-speed' | 'complete' | 'finalize' | 'dismiss';

// job.c's JobVerbTable: which status accepts which verb.
const VERBS: Readonly<Record<Verb, readonly SimJobStatus[]>> = {
  cancel: ['created', 'running', 'paused', 'ready', 'standby', 'waiting', 'pending', 'aborting'],
  pause: ['created', 'running', 'paused', 'ready', 'standby'],
  resume: ['created', 'running', 'paused', 'ready', 'standby'],
  'set-speed': ['created', 'running', 'paused', 'ready', 'standby'],
  complete: ['ready'],
  finalize: ['pending'],
  dismiss: ['concluded'],
};

/** How much a job copies between two rate-limit sleeps (mirror's buffer, backup's and the others' chunk). */
const CHUNK_BYTES: Readonly<Record<SimJobType, number>> = {
  mirror: 16 << 20,
  backup: 1 << 20,
  commit: 512 << 10,
  stream: 512 << 10,
};

// setTimeout's largest delay; a job slower than that (speed 1 byte/s) just waits for a new speed.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A running or concluded job. */
export interface SimJob {
  readonly id: string;
  readonly type: SimJobType;
  status: SimJobStatus;
  readonly len: number;
  offset: number;
  speed: number;
  readonly autoFinalize: boolean;
  readonly autoDismiss: boolean;
  /** Mirror and active commit go to `ready` and wait for `complete`. */
  readonly needsComplete: boolean;
  userPaused: boolean;
  /** Set once the job failed or was cancelled: query-jobs' `error`. */
  error: string | undefined;
  /** Nodes the job holds, released when it ends. */
  readonly nodes: readonly string[];
  /** An injected failure: the job fails at its next step with this text. */
  failWith: string | undefined;
  timer: NodeJS.Timeout | undefined;
}

/** What a new job needs. */
export interface SimJobSpec {
  id: string;
  type: SimJobType;
  len: number;
  speed: number;
  autoFinalize: boolean;
  autoDismiss: boolean;
  needsComplete: boolean;
  nodes: readonly string[];
}

type Emit = (event: string, data: Record<string, unknown>) => void;

/** The job list of the simulated QEMU; errors in QEMU 7.2's words. */
export class SimJobs {
  readonly #jobs: SimJob[] = [];
  readonly #emit: Emit;
  /** Set by fault injection: the next job created fails with this text. */
  failNext: string | undefined;

  constructor(emit: Emit) {
    this.#emit = emit;
  }

  /** Jobs newest first, as QEMU lists them. */
  list(): readonly SimJob[] {
    return [...this.#jobs].reverse();
  }

  /** True when a job holds node `name`. */
  busy(name: string): SimJob | undefined {
    return this.#jobs.find((j) => j.nodes.includes(name) && j.status !== 'concluded');
  }

  /** `job-*` lookup: QEMU's plain "Job not found". */
  get(id: string): SimJob {
    const j = this.#jobs.find((x) => x.id === id);
    if (!j) throw new QmpCommandError('GenericError', 'Job not found');
    return j;
  }

  /** `block-job-*` lookup. */
  getBlock(id: string): SimJob {
    const j = this.#jobs.find((x) => x.id === id);
    if (!j) throw new QmpCommandError('DeviceNotActive', `Block job '${id}' not found`);
    return j;
  }

  /** QEMU's job_create checks for the id. */
  checkId(id: string): void {
    if (!isQemuIdentifier(id)) throw new QmpCommandError('GenericError', `Invalid job ID '${id}'`);
    if (this.#jobs.some((j) => j.id === id)) throw new QmpCommandError('GenericError', `Job ID '${id}' already in use`);
  }

  /**
   * Creates and starts a job: `created` and `running` before the reply, as QEMU. `later` runs what
   * QEMU does after the reply (mirror's first copy round); the other types copy their first chunk at
   * once, as a backup of an idle node does in QEMU.
   */
  start(spec: SimJobSpec, later: (fn: () => void) => void): SimJob {
    const job: SimJob = {
      ...spec,
      status: 'undefined',
      offset: 0,
      userPaused: false,
      error: undefined,
      failWith: this.failNext,
      timer: undefined,
    };
    this.failNext = undefined;
    this.#jobs.push(job);
    this.#status(job, 'created');
    this.#status(job, 'running');
    // QEMU's backup pauses and resumes its job while inserting the copy-before-write filter.
    if (job.type === 'backup') {
      this.#status(job, 'paused');
      this.#status(job, 'running');
    }
    if (job.type === 'mirror') later(() => this.#step(job));
    else this.#step(job);
    return job;
  }

  #status(job: SimJob, status: SimJobStatus): void {
    job.status = status;
    this.#emit('JOB_STATUS_CHANGE', { status, id: job.id });
  }

  #blockEvent(event: string, job: SimJob, extra: Record<string, unknown> = {}): void {
    this.#emit(event, { type: job.type, device: job.id, len: job.len, offset: job.offset, speed: job.speed, ...extra });
  }

  #verb(job: SimJob, verb: Verb): void {
    if (!VERBS[verb].includes(job.status)) {
      throw new QmpCommandError(
        'GenericError',
        `Job '${job.id}' in state '${job.status}' cannot accept command verb '${verb}'`,
      );
    }
  }

  #clearTimer(job: SimJob): void {
    if (job.timer !== undefined) clearTimeout(job.timer);
    job.timer = undefined;
  }

  /** One copy round: a chunk (all of it at speed 0), then a sleep the speed asks for. */
  #step(job: SimJob): void {
    job.timer = undefined;
    if (job.status !== 'running') return;
    if (job.failWith !== undefined) {
      this.#fail(job, job.failWith);
      return;
    }
    const chunk = job.speed === 0 ? job.len : CHUNK_BYTES[job.type];
    job.offset = Math.min(job.len, job.offset + chunk);
    if (job.offset >= job.len) {
      this.#copied(job);
      return;
    }
    this.#schedule(job);
  }

  #schedule(job: SimJob): void {
    this.#clearTimer(job);
    const ms = job.speed === 0 ? 0 : (CHUNK_BYTES[job.type] / job.speed) * 1000;
    if (ms > MAX_TIMER_MS) return;
    job.timer = setTimeout(() => this.#step(job), ms);
    job.timer.unref();
  }

  /** Everything is copied: mirror waits in `ready`, the others finish. */
  #copied(job: SimJob): void {
    if (job.needsComplete) {
      this.#status(job, 'ready');
      this.#blockEvent('BLOCK_JOB_READY', job);
      return;
    }
    this.#finish(job);
  }

  /** waiting, pending, then finalize now or on `job-finalize`. */
  #finish(job: SimJob): void {
    this.#status(job, 'waiting');
    this.#status(job, 'pending');
    if (job.autoFinalize) this.#finalize(job);
    else this.#emit('BLOCK_JOB_PENDING', { type: job.type, id: job.id });
  }

  #finalize(job: SimJob): void {
    if (job.error === undefined) this.#blockEvent('BLOCK_JOB_COMPLETED', job);
    else if (job.error === 'Operation canceled') this.#blockEvent('BLOCK_JOB_CANCELLED', job);
    else this.#blockEvent('BLOCK_JOB_COMPLETED', job, { error: job.error });
    this.#conclude(job);
  }

  #conclude(job: SimJob): void {
    this.#status(job, 'concluded');
    if (job.autoDismiss) this.#dismiss(job);
  }

  #dismiss(job: SimJob): void {
    this.#status(job, 'null');
    this.#jobs.splice(this.#jobs.indexOf(job), 1);
  }

  #abort(job: SimJob, error: string): void {
    this.#clearTimer(job);
    job.error = error;
    this.#status(job, 'aborting');
    this.#finalize(job);
  }

  #fail(job: SimJob, error: string): void {
    // As with on-source-error=report: the job stops on its first failed read.
    this.#emit('BLOCK_JOB_ERROR', { device: job.id, operation: 'read', action: 'report' });
    this.#abort(job, error);
  }

  /** `job-cancel` (force) and `block-job-cancel`: a ready mirror cancelled without force completes. */
  cancel(job: SimJob, force: boolean, later: (fn: () => void) => void): void {
    this.#verb(job, 'cancel');
    if (job.status === 'aborting') return;
    this.#clearTimer(job);
    if (job.status === 'ready' || job.status === 'standby') {
      // A ready mirror notices the cancel in its own coroutine, after the reply; without force
      // it completes instead (the target stays a consistent copy).
      later(() => (force ? this.#abort(job, 'Operation canceled') : this.#finish(job)));
      return;
    }
    this.#abort(job, 'Operation canceled');
  }

  pause(job: SimJob): void {
    this.#verb(job, 'pause');
    if (job.userPaused) throw new QmpCommandError('GenericError', 'Job is already paused');
    job.userPaused = true;
    this.#clearTimer(job);
    this.#status(job, job.status === 'ready' ? 'standby' : 'paused');
  }

  resume(job: SimJob): void {
    this.#verb(job, 'resume');
    if (!job.userPaused) throw new QmpCommandError('GenericError', "Can't resume a job that was not paused");
    job.userPaused = false;
    const ready = job.status === 'standby';
    this.#status(job, ready ? 'ready' : 'running');
    if (!ready) this.#schedule(job);
  }

  /** `block-job-set-speed`: the job wakes up and copies on at the new rate. */
  setSpeed(job: SimJob, speed: number, later: (fn: () => void) => void): void {
    this.#verb(job, 'set-speed');
    if (speed < 0) throw new QmpCommandError('GenericError', "Parameter 'speed' expects a non-negative value");
    job.speed = speed;
    if (job.status === 'running') {
      this.#clearTimer(job);
      later(() => this.#step(job));
    }
  }

  complete(job: SimJob, later: (fn: () => void) => void): void {
    this.#verb(job, 'complete');
    later(() => {
      if (job.status === 'ready') this.#finish(job);
    });
  }

  finalize(job: SimJob): void {
    this.#verb(job, 'finalize');
    this.#finalize(job);
  }

  dismiss(job: SimJob): void {
    this.#verb(job, 'dismiss');
    this.#dismiss(job);
  }

  /** Stops every timer (the simulated QEMU closes). */
  close(): void {
    for (const j of this.#jobs) this.#clearTimer(j);
  }

  /** query-jobs' JobInfo. */
  static jobInfo(j: SimJob): Record<string, unknown> {
    return {
      id: j.id,
      type: j.type,
      status: j.status,
      'current-progress': j.offset,
      'total-progress': j.len,
      error: j.error,
    };
  }

  /** query-block-jobs' BlockJobInfo. */
  static blockJobInfo(j: SimJob): Record<string, unknown> {
    return {
      type: j.type,
      device: j.id,
      len: j.len,
      offset: j.offset,
      busy: false,
      paused: j.userPaused,
      speed: j.speed,
      'io-status': 'ok',
      ready: j.status === 'ready' || j.status === 'standby',
      status: j.status,
      'auto-finalize': j.autoFinalize,
      'auto-dismiss': j.autoDismiss,
      error: j.error,
    };
  }
}
