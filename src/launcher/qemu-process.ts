import type { ChildProcess } from 'node:child_process';
import type { QmpClient } from '../client/index.js';
import { QmpLaunchError } from '../errors/qmp-error.js';
import { debug } from '../trace/index.js';
import { shellQuote } from './shell-quote.js';
import type { StderrTail } from './stderr-tail.js';

/** How QEMU ended: an exit code, or the signal that killed it. */
export interface QemuExitStatus {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** How `close()` brought QEMU down. */
export type QemuShutdownStep = 'already-exited' | 'quit' | 'SIGTERM' | 'SIGKILL';

/**
 * A QEMU started by `launch()`, with its QMP monitor connected. `qmp` is the client; `close()` shuts
 * QEMU down (`quit`, then SIGTERM, then SIGKILL) and is safe to call more than once. If QEMU ends on
 * its own, `exited` resolves and `failure` describes it (exit status, command line, stderr tail).
 * Supports `await using` (Node 20 with `Symbol.asyncDispose`).
 */
export class QemuProcess {
  /** The connected, negotiated QMP client. */
  readonly qmp: QmpClient;
  /** QEMU's full command line, including the QMP monitor options the launcher added. */
  readonly argv: readonly string[];
  /** QEMU's process id. */
  readonly pid: number;
  /** Resolves when QEMU has exited (never rejects). */
  readonly exited: Promise<QemuExitStatus>;
  readonly #child: ChildProcess;
  readonly #tail: StderrTail;
  readonly #shutdownTimeoutMs: number;
  readonly #onDispose: () => void;
  #status: QemuExitStatus | undefined;
  #closing: Promise<QemuExitStatus> | undefined;
  #failure: QmpLaunchError | undefined;
  #shutdownStep: QemuShutdownStep | undefined;

  /** @internal Made by `launch()`. */
  constructor(init: {
    qmp: QmpClient;
    child: ChildProcess;
    argv: readonly string[];
    exited: Promise<QemuExitStatus>;
    tail: StderrTail;
    shutdownTimeoutMs: number;
    onDispose: () => void;
  }) {
    this.qmp = init.qmp;
    this.#child = init.child;
    this.argv = init.argv;
    this.pid = init.child.pid ?? -1;
    this.#tail = init.tail;
    this.#shutdownTimeoutMs = init.shutdownTimeoutMs;
    this.#onDispose = init.onDispose;
    this.exited = init.exited.then((status) => {
      this.#status = status;
      if (this.#closing === undefined) {
        this.#failure = launchFailure('QEMU exited unexpectedly', status, this.argv, this.#tail.text());
        debug('launcher: %s', this.#failure.message);
        void this.qmp.close().catch(() => undefined);
      }
      this.#onDispose();
      return status;
    });
  }

  /** True until QEMU has exited. */
  get running(): boolean {
    return this.#status === undefined;
  }

  /** QEMU's exit status once it has exited. */
  get exitStatus(): QemuExitStatus | undefined {
    return this.#status;
  }

  /** When QEMU ended without `close()`: an error with its exit status, command line and stderr tail. */
  get failure(): QmpLaunchError | undefined {
    return this.#failure;
  }

  /** What `close()` had to do: `quit` when QEMU obeyed it, or the signal that ended it. */
  get shutdownStep(): QemuShutdownStep | undefined {
    return this.#shutdownStep;
  }

  /** The last lines QEMU wrote to stderr. */
  stderrTail(): string {
    return this.#tail.text();
  }

  /** Sends a signal to QEMU (e.g. SIGSTOP in a test). Returns false when it has already exited. */
  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    return this.running && this.#child.kill(signal);
  }

  /**
   * Shuts QEMU down: `quit` over QMP, then SIGTERM after `shutdownTimeoutMs`, then SIGKILL after
   * another `shutdownTimeoutMs`. Resolves with the exit status; the QMP client is closed.
   */
  close(): Promise<QemuExitStatus> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #shutdown(): Promise<QemuExitStatus> {
    if (this.#status !== undefined) {
      this.#shutdownStep = 'already-exited';
      await this.qmp.close().catch(() => undefined);
      return this.#status;
    }
    const wait = (ms: number): Promise<boolean> => waitFor(this.exited, ms);
    this.#shutdownStep = 'quit';
    // `quit` may get no reply (QEMU can close the socket first); only its exit counts.
    void this.qmp.execute('quit', undefined, { timeoutMs: this.#shutdownTimeoutMs }).catch(() => undefined);
    if (!(await wait(this.#shutdownTimeoutMs))) {
      this.#shutdownStep = 'SIGTERM';
      this.#child.kill('SIGTERM');
      if (!(await wait(this.#shutdownTimeoutMs))) {
        this.#shutdownStep = 'SIGKILL';
        this.#child.kill('SIGKILL');
      }
    }
    const status = await this.exited;
    await this.qmp.close().catch(() => undefined);
    return status;
  }
}

/** Resolves true when `p` settles within `ms`, false otherwise. */
function waitFor(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    void p.then(() => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

/** Builds the error for a QEMU that failed or died: status, the command line and the stderr tail. */
export function launchFailure(
  what: string,
  status: QemuExitStatus,
  argv: readonly string[],
  stderrTail: string,
  cause?: unknown,
): QmpLaunchError {
  const how =
    status.signal !== null
      ? ` (killed by ${status.signal})`
      : status.exitCode !== null
        ? ` (exit code ${status.exitCode})`
        : '';
  const tail = stderrTail.trim() === '' ? '  (nothing on stderr)' : stderrTail.replace(/^/gm, '  ');
  return new QmpLaunchError(
    `${what}${how}${causeOf(stderrTail)}\ncommand: ${shellQuote(argv)}\nstderr:\n${tail}`,
    { exitCode: status.exitCode, signal: status.signal, argv, stderrTail },
    cause === undefined ? {} : { cause },
  );
}

/** QEMU's complaints when it has no display to open (GTK, SDL, VNC-less headless hosts). */
const NO_DISPLAY =
  /gtk initialization failed|Could not initialize SDL|cannot open display|Display '.*' is not available/i;

/**
 * The line that says why QEMU stopped, to put first: QEMU prints its reason last ("gtk initialization
 * failed", "-foo: invalid option"). A missing display gets the fix.
 */
function causeOf(stderrTail: string): string {
  const lines = stderrTail.split('\n').filter((l) => l.trim() !== '');
  const last = lines[lines.length - 1];
  if (last === undefined) return '';
  const hint = NO_DISPLAY.test(stderrTail) ? ' (no display here: add -display none)' : '';
  return `: ${last.trim()}${hint}`;
}
