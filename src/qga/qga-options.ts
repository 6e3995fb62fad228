import type { QmpTlsOptions } from '../transport/connect.js';

/** Options of `QgaClient.connect`. */
export interface QgaClientOptions {
  /**
   * Deadline to connect and, with `syncOnConnect`, for the agent to answer the first sync, in ms
   * (default `DEFAULT_CONNECT_TIMEOUT_MS`, 10 s).
   */
  timeoutMs?: number;
  /** Cancels connecting. */
  signal?: AbortSignal;
  /**
   * Synchronise with the agent before `connect` resolves (default true): `connect` then rejects with
   * `QMP_ERR_CONNECT_TIMEOUT` when no agent answers (not running, VM not started). With `false` it
   * resolves once the socket is open and the first call synchronises instead.
   */
  syncOnConnect?: boolean;
  /** Default deadline of each call, in ms, queueing and synchronising included (default: none). */
  commandTimeoutMs?: number;
  /** Calls held while one is in flight (default `MAX_QGA_QUEUED_COMMANDS`); one more is refused. */
  maxQueuedCommands?: number;
  /** Largest reply accepted, in bytes (default `MAX_MESSAGE_BYTES`). */
  maxMessageBytes?: number;
  /** Deepest nesting accepted in a reply (default `MAX_NESTING_DEPTH`). */
  maxDepth?: number;
  /** How long `close()` waits for the peer to close its side, in ms (default `CLIENT_CLOSE_TIMEOUT_MS`). */
  closeTimeoutMs?: number;
  /** TLS for a TCP address (the agent's chardev is usually a unix socket). */
  tls?: QmpTlsOptions | true;
  /** Names the connection in errors and traces (default: the address). */
  label?: string;
  /**
   * Ids for `guest-sync-delimited`: any integer in ±(2^53−1). Default: random. For tests and
   * reproducible transcripts.
   */
  syncId?: () => number;
}

/** Options of one guest agent call. */
export interface QgaExecuteOptions {
  /**
   * Deadline for this call, in ms, counting the wait for earlier calls and for a sync. On expiry the
   * call rejects with `QMP_ERR_TIMEOUT`; if the command was written the agent may still run it, and
   * the next call synchronises first.
   */
  timeoutMs?: number;
  /** Cancels the call (`QMP_ERR_ABORTED`); as for a timeout, the next call synchronises first. */
  signal?: AbortSignal;
}

/** Options of `QgaClient.exec`. */
export interface QgaExecOptions extends QgaExecuteOptions {
  /** Arguments (`arg` of `guest-exec`). */
  args?: readonly string[];
  /** Environment, `NAME=value` each (`env` of `guest-exec`). */
  env?: readonly string[];
  /** Bytes for the process's standard input (sent base64-encoded as `input-data`). */
  input?: string | Uint8Array;
  /** Capture standard output and error (default true). */
  captureOutput?: boolean;
  /** Wait between two `guest-exec-status` calls, in ms (default `QGA_POLL_INTERVAL_MS`). */
  pollIntervalMs?: number;
}

/** How a process run with `QgaClient.exec` ended, and what it printed. */
export interface QgaExecResult {
  /** The process id in the guest. */
  readonly pid: number;
  /** The exit code, when it exited normally. */
  readonly exitCode: number | undefined;
  /** The signal number that ended it, when it was killed (POSIX guests). */
  readonly signal: number | undefined;
  /** Standard output, decoded from base64 and then as UTF-8. */
  readonly stdout: string;
  /** Standard error, decoded from base64 and then as UTF-8. */
  readonly stderr: string;
  /** Standard output as bytes. */
  readonly stdoutBytes: Uint8Array;
  /** Standard error as bytes. */
  readonly stderrBytes: Uint8Array;
  /** The agent cut standard output at its own limit (16 MiB in qemu-ga). */
  readonly stdoutTruncated: boolean;
  /** The agent cut standard error at its own limit. */
  readonly stderrTruncated: boolean;
}
