// Runs the built binaries as a user would, with pipes, and collects exit code and output.
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';

// The bundled programs package.json's bin names: what a user's `qmpkit` and `qmp-shell` run.
export const QMPKIT = resolve(import.meta.dirname, '../../../src/bin/qmpkit.cjs');
export const QMP_SHELL = resolve(import.meta.dirname, '../../../src/bin/qmp-shell.cjs');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A running CLI process whose output can be awaited piece by piece. */
export class CliProcess {
  readonly proc: ChildProcess;
  stdout = '';
  stderr = '';
  readonly #waiters: Array<() => void> = [];
  readonly done: Promise<CliResult>;

  constructor(
    script: string,
    args: readonly string[],
    options: { env?: NodeJS.ProcessEnv; input?: string; detached?: boolean } = {},
  ) {
    this.proc = spawn(process.execPath, [script, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: options.env ?? process.env,
      // Its own process group, so a test can signal it and its children as a terminal would.
      detached: options.detached ?? false,
    });
    this.proc.stdout?.setEncoding('utf8');
    this.proc.stderr?.setEncoding('utf8');
    this.proc.stdout?.on('data', (d: string) => {
      this.stdout += d;
      this.#notify();
    });
    this.proc.stderr?.on('data', (d: string) => {
      this.stderr += d;
      this.#notify();
    });
    if (options.input !== undefined) this.proc.stdin?.end(options.input);
    this.done = new Promise((resolve) => {
      this.proc.once('close', (code, signal) => {
        this.#notify();
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr });
      });
    });
  }

  #notify(): void {
    for (const w of [...this.#waiters]) w();
  }

  /** Resolves when `pattern` appears on `stream`; rejects on timeout or exit, showing the output. */
  waitFor(stream: 'stdout' | 'stderr', pattern: RegExp | string, timeoutMs = 15_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const text = this[stream];
        if (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text)) {
          finish(resolve);
          return;
        }
        if (this.proc.exitCode !== null || this.proc.signalCode !== null) {
          finish(() =>
            reject(new Error(`exited before ${String(pattern)} on ${stream}:\n${this.stdout}\n${this.stderr}`)),
          );
        }
      };
      const timer = setTimeout(
        () =>
          finish(() =>
            reject(new Error(`timed out waiting for ${String(pattern)} on ${stream}:\n${this.stdout}\n${this.stderr}`)),
          ),
        timeoutMs,
      );
      const finish = (f: () => void): void => {
        clearTimeout(timer);
        const i = this.#waiters.indexOf(check);
        if (i !== -1) this.#waiters.splice(i, 1);
        f();
      };
      this.#waiters.push(check);
      check();
    });
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
  }

  /** Asks the process to stop, as a service manager would, and waits for its result. */
  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<CliResult> {
    this.kill(signal);
    return this.done;
  }
}

/** Runs `qmpkit ARGS...` to completion (killed after `timeoutMs`). */
export async function qmpkit(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  return run(QMPKIT, args, options);
}

/** Runs `qmp-shell ARGS...` to completion (killed after `timeoutMs`). */
export async function qmpShell(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  return run(QMP_SHELL, args, options);
}

async function run(
  script: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number },
): Promise<CliResult> {
  const p = new CliProcess(script, args, { ...options, input: options.input ?? '' });
  const timer = setTimeout(() => p.kill(), options.timeoutMs ?? 30_000);
  try {
    return await p.done;
  } finally {
    clearTimeout(timer);
  }
}
