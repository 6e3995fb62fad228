import { QmpAbortedError, QmpProtocolError, QmpTimeoutError, QmpUsageError } from '../errors/qmp-error.js';
import { QGA_POLL_INTERVAL_MS } from '../limits.js';
import type { GuestExec, GuestExecArguments, GuestExecStatus } from '../qapi/qga/index.js';
import type { QgaExecOptions, QgaExecResult, QgaExecuteOptions } from './qga-options.js';

/** The two agent calls `exec` needs, with per-call options. */
export interface QgaExecCalls {
  guestExec(args: GuestExecArguments, options: QgaExecuteOptions): Promise<GuestExec>;
  guestExecStatus(pid: number, options: QgaExecuteOptions): Promise<GuestExecStatus>;
}

function decodeBase64(text: string | undefined): Uint8Array {
  return text === undefined ? new Uint8Array(0) : new Uint8Array(Buffer.from(text, 'base64'));
}

/** Waits `ms`, or rejects when `signal` fires. The timer is the poll interval, not a guess. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new QmpAbortedError('guest-exec-status: aborted', { cause: signal.reason }));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new QmpAbortedError('guest-exec-status: aborted', { cause: signal?.reason }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * `guest-exec`, then `guest-exec-status` every `pollIntervalMs` until the process has exited (the
 * agent reaps it on that answer), all within one `timeoutMs`. Output comes back base64-encoded from
 * the agent and is decoded here.
 */
export async function runGuestExec(calls: QgaExecCalls, path: string, options: QgaExecOptions): Promise<QgaExecResult> {
  const poll = options.pollIntervalMs ?? QGA_POLL_INTERVAL_MS;
  if (typeof poll !== 'number' || !(poll >= 0)) throw new QmpUsageError(`pollIntervalMs must be >= 0, got ${poll}`);
  const start = Date.now();
  const { timeoutMs, signal } = options;
  const remaining = (): QgaExecuteOptions => {
    const left = timeoutMs === undefined ? undefined : Math.max(0, timeoutMs - (Date.now() - start));
    if (left === 0)
      throw new QmpTimeoutError(`guest-exec ${path}: the process did not exit within ${timeoutMs} ms`, timeoutMs!);
    return { ...(left !== undefined ? { timeoutMs: left } : {}), ...(signal ? { signal } : {}) };
  };
  const args: GuestExecArguments = { path, 'capture-output': options.captureOutput ?? true };
  if (options.args !== undefined) args.arg = [...options.args];
  if (options.env !== undefined) args.env = [...options.env];
  if (options.input !== undefined) args['input-data'] = Buffer.from(options.input).toString('base64');
  const started = await calls.guestExec(args, remaining());
  const pid = Number(started.pid);
  for (;;) {
    const status = await calls.guestExecStatus(pid, remaining());
    if (typeof status !== 'object' || status === null || typeof status.exited !== 'boolean')
      throw new QmpProtocolError(`guest-exec-status ${pid}: not a GuestExecStatus: ${JSON.stringify(status)}`);
    if (status.exited) {
      const stdoutBytes = decodeBase64(status['out-data']);
      const stderrBytes = decodeBase64(status['err-data']);
      return {
        pid,
        exitCode: status.exitcode === undefined ? undefined : Number(status.exitcode),
        signal: status.signal === undefined ? undefined : Number(status.signal),
        stdout: Buffer.from(stdoutBytes).toString('utf8'),
        stderr: Buffer.from(stderrBytes).toString('utf8'),
        stdoutBytes,
        stderrBytes,
        stdoutTruncated: status['out-truncated'] === true,
        stderrTruncated: status['err-truncated'] === true,
      };
    }
    const left = remaining().timeoutMs;
    await pause(left === undefined ? poll : Math.min(poll, left), signal);
  }
}
