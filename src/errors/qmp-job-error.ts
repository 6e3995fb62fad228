import { QmpError, type QmpErrorOptions } from './qmp-error.js';

/**
 * A QEMU job (block job, blockdev-create, ...) ended without success: it failed, or it was
 * cancelled. `jobError` is the job's own `error` text as QEMU reported it (query-jobs, or the
 * BLOCK_JOB_COMPLETED event); `'Operation canceled'` for a cancelled job.
 */
export class QmpJobError extends QmpError {
  /** The job's id. */
  readonly jobId: string;
  /** The job's type (`mirror`, `backup`, `commit`, `stream`, `create`, ...), when known. */
  readonly jobType: string | undefined;
  /** QEMU's own error text for the job. */
  readonly jobError: string;
  /** True when the job was cancelled rather than failed. */
  readonly cancelled: boolean;

  constructor(
    message: string,
    job: { id: string; type: string | undefined; error: string; cancelled: boolean },
    options: QmpErrorOptions = {},
  ) {
    super('QMP_ERR_JOB', message, options);
    this.jobId = job.id;
    this.jobType = job.type;
    this.jobError = job.error;
    this.cancelled = job.cancelled;
  }
}

/**
 * An outgoing migration ended as `failed` or `cancelled`. `status` is QEMU's final status,
 * `errorDesc` query-migrate's `error-desc` when QEMU gave one, `info` the final query-migrate.
 */
export class QmpMigrationError extends QmpError {
  /** `failed` or `cancelled`. */
  readonly status: string;
  /** query-migrate's `error-desc`, verbatim, when present. */
  readonly errorDesc: string | undefined;
  /** The final query-migrate reply. */
  readonly info: unknown;

  constructor(
    message: string,
    migration: { status: string; errorDesc: string | undefined; info: unknown },
    options: QmpErrorOptions = {},
  ) {
    super('QMP_ERR_MIGRATION', message, options);
    this.status = migration.status;
    this.errorDesc = migration.errorDesc;
    this.info = migration.info;
  }
}
