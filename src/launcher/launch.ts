import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { QmpClient, type QmpListener } from '../client/index.js';
import { QmpAbortedError, QmpError, QmpUsageError } from '../errors/qmp-error.js';
import { LAUNCH_SHUTDOWN_TIMEOUT_MS, LAUNCH_START_TIMEOUT_MS, LAUNCH_STDERR_TAIL_LINES } from '../limits.js';
import { debug, TranscriptLog } from '../trace/index.js';
import { type LaunchFd, launchFdPlan } from './launch-fds.js';
import { launchFailure, type QemuExitStatus, QemuProcess } from './qemu-process.js';
import { StderrTail } from './stderr-tail.js';

/** Options of {@link launch}. */
export interface LaunchOptions {
  /** QEMU's command line, binary first: `['qemu-system-x86_64', '-machine', 'none', ...]`. Do not add a QMP monitor: the launcher wires its own. */
  readonly argv: readonly string[];
  /** Deadline for QEMU to start, connect its monitor and greet, in ms (default `LAUNCH_START_TIMEOUT_MS`). */
  readonly startTimeoutMs?: number;
  /** Wait after `quit`, and again after SIGTERM, before escalating, in ms (default `LAUNCH_SHUTDOWN_TIMEOUT_MS`). */
  readonly shutdownTimeoutMs?: number;
  /** Lines of stderr kept for error reports (default `LAUNCH_STDERR_TAIL_LINES`). */
  readonly stderrTailLines?: number;
  /** Also copy QEMU's stderr here as it arrives (the CLI passes `process.stderr`). */
  readonly stderr?: Writable;
  /** QEMU's stdout: discarded (default) or shared with this process. */
  readonly stdout?: 'ignore' | 'inherit';
  /** Environment for QEMU (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
  /** Working directory for QEMU. */
  readonly cwd?: string;
  /** Negotiate capabilities (default true). */
  readonly negotiate?: boolean;
  /** Aborts the start: QEMU is killed and `launch` rejects with `QMP_ERR_ABORTED`. */
  readonly signal?: AbortSignal;
  /** Record every QMP message, both ways, to this file as JSON lines (see `TranscriptLog`). */
  readonly qmpLog?: string;
  /**
   * Descriptors QEMU inherits at start, each put in an fd set with `-add-fd fd=N,set=M` (no native
   * addon needed): disks as `/dev/fdset/M`, taps, ... A bare number goes in set index + 1.
   */
  readonly fds?: readonly (number | LaunchFd)[];
}

/** The chardev id of the launcher's monitor (visible in `query-chardev`). */
export const LAUNCH_CHARDEV_ID = 'qmpkit-qmp';

/** QEMU's option syntax doubles commas inside a value. */
const qemuOptValue = (s: string): string => s.replaceAll(',', ',,');

/**
 * Starts QEMU with a private QMP monitor and resolves with a connected client once QEMU has greeted.
 *
 * The launcher listens on a unix socket in a fresh 0700 temp dir and has QEMU connect to it as a
 * client (`-chardev socket,path=...` without `server=on`), so there is no polling and no port: the
 * first connection is QEMU. The socket and its dir are removed as soon as QEMU is connected.
 *
 * When QEMU fails to start (bad option, missing binary, exits or crashes before greeting, or the
 * deadline passes) it is killed and `launch` rejects with `QmpLaunchError` carrying the exit code or
 * signal, the command line and the tail of QEMU's stderr. If this process exits without `close()`,
 * QEMU is killed with it.
 */
export async function launch(options: LaunchOptions): Promise<QemuProcess> {
  const [binary, ...args] = options.argv;
  if (binary === undefined || binary === '') throw new QmpUsageError('launch: argv must start with the QEMU binary');
  const startTimeoutMs = options.startTimeoutMs ?? LAUNCH_START_TIMEOUT_MS;
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? LAUNCH_SHUTDOWN_TIMEOUT_MS;
  const tail = new StderrTail(options.stderrTailLines ?? LAUNCH_STDERR_TAIL_LINES);
  if (options.signal?.aborted) throw new QmpAbortedError('launch() was aborted', { cause: options.signal.reason });
  const fdPlan = launchFdPlan(options.fds ?? []);

  // Each launch gets its own trace label so its transcript holds only its own messages.
  const label = `qemu-launch:${process.pid}:${Date.now()}:${Math.random().toString(36).slice(2)}`;
  const transcript = options.qmpLog === undefined ? undefined : new TranscriptLog(options.qmpLog, label);
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-'));
  const socketPath = join(dir, 'qmp.sock');
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true });
  let listener: QmpListener<QmpClient>;
  try {
    // One connection is all QEMU makes; nobody else may wait in the private directory's socket.
    listener = await QmpClient.listen(`unix:${socketPath}`, {
      negotiate: options.negotiate ?? true,
      label,
      maxQueuedConnections: 1,
    });
  } catch (err) {
    removeDir();
    transcript?.close();
    throw err;
  }

  const argv = [
    binary,
    ...args,
    ...fdPlan.args,
    '-chardev',
    `socket,id=${LAUNCH_CHARDEV_ID},path=${qemuOptValue(socketPath)}`,
    '-mon',
    `chardev=${LAUNCH_CHARDEV_ID},mode=control`,
  ];
  debug('launcher: spawning %o', argv);
  const child = spawn(binary, argv.slice(1), {
    stdio: ['ignore', options.stdout ?? 'ignore', 'pipe', ...fdPlan.stdio],
    env: options.env ?? process.env,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  const killOnParentExit = (): void => {
    child.kill('SIGKILL');
  };
  // One listener per running VM is legitimate: raise the limit with it so a test suite running
  // many VMs at once gets no leak warning.
  process.setMaxListeners(process.getMaxListeners() + 1);
  process.on('exit', killOnParentExit);
  let disposed = false;
  const dispose = (): void => {
    if (disposed) return;
    disposed = true;
    process.off('exit', killOnParentExit);
    process.setMaxListeners(Math.max(10, process.getMaxListeners() - 1));
    transcript?.close();
  };
  let spawnError: Error | undefined;
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    tail.push(chunk);
    options.stderr?.write(chunk);
  });
  // 'close' waits for stderr to end too, so the tail is complete when the exit is reported.
  const exited = new Promise<QemuExitStatus>((resolve) => {
    child.once('close', (exitCode, signal) => resolve({ exitCode, signal }));
    child.once('error', (err) => {
      spawnError = err;
      resolve({ exitCode: null, signal: null });
    });
  });

  let client: QmpClient | undefined;
  const accepting = new AbortController();
  let step = 'connect its QMP monitor';
  try {
    client = await race(
      listener.accept({
        timeoutMs: Number.POSITIVE_INFINITY,
        signal: accepting.signal,
        onPeer: () => {
          step = 'greet on its QMP monitor';
          // QEMU is connected: nobody else is wanted, and the socket file with its directory goes now.
          void listener.close().catch(() => undefined);
          removeDir();
        },
      }),
      exited,
      startTimeoutMs,
      options.signal,
      () => step,
    );
  } catch (err) {
    accepting.abort();
    // A monitor that goes away before greeting usually means QEMU is exiting (bad display, bad
    // device): give it the shutdown timeout so the report shows its exit status and reason, not our disconnect.
    const lost =
      err instanceof QmpError && !['QMP_ERR_ABORTED', 'QMP_ERR_CONNECT_TIMEOUT', 'QMP_ERR_TIMEOUT'].includes(err.code);
    const exitedAlone = lost && (await settlesWithin(exited, shutdownTimeoutMs));
    if (!exitedAlone) child.kill('SIGKILL');
    const status = await exited;
    void listener.close().catch(() => undefined);
    removeDir();
    dispose();
    if (err instanceof QmpError && err.code === 'QMP_ERR_ABORTED') throw err;
    const what =
      spawnError !== undefined
        ? `Could not run ${binary}: ${spawnError.message}`
        : err instanceof EarlyExit
          ? `QEMU exited before it could ${err.step}`
          : exitedAlone
            ? 'QEMU exited before it could greet on its QMP monitor'
            : `QEMU failed to start: ${err instanceof Error ? err.message : String(err)}`;
    throw launchFailure(what, status, argv, tail.text(), spawnError ?? err);
  }
  return new QemuProcess({ qmp: client, child, argv, exited, tail, shutdownTimeoutMs, onDispose: dispose });
}

/** Resolves true when `p` settles within `ms`. */
function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    void p.then(() => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

/** QEMU exited while we waited for `step`. */
class EarlyExit extends Error {
  readonly step: string;
  constructor(step: string) {
    super(`QEMU exited before it could ${step}`);
    this.step = step;
  }
}

/** Waits for `work`, failing if QEMU exits first, the deadline passes, or `signal` aborts. */
async function race<T>(
  work: Promise<T>,
  exited: Promise<QemuExitStatus>,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  step: () => string,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    return await Promise.race([
      work,
      exited.then(() => {
        throw new EarlyExit(step());
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`QEMU did not ${step()} within ${timeoutMs} ms`)), timeoutMs);
      }),
      new Promise<never>((_, reject) => {
        if (signal === undefined) return;
        onAbort = () => reject(new QmpAbortedError('launch() was aborted', { cause: signal.reason }));
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
  }
}
