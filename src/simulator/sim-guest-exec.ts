import { QmpCommandError } from '../errors/qmp-command-error.js';
import type { SimGuestFs } from './sim-guest-fs.js';

/** The first pid the simulated guest hands out. */
const FIRST_PID = 1042;

interface SimProcess {
  exitCode: number | undefined;
  stdout: Buffer;
  stderr: Buffer;
  readonly capture: boolean;
  timer: NodeJS.Timeout | undefined;
}

/** What a simulated program did: exit code and output, or `sleepMs` before it exits with 0. */
interface ProgramResult {
  exitCode: number;
  stdout?: string | Buffer;
  stderr?: string;
  sleepMs?: number;
}

type Program = (args: readonly string[], stdin: Buffer, fs: SimGuestFs) => ProgramResult;

/** The programs the simulated guest has: nothing ever runs on the host. */
const PROGRAMS: ReadonlyMap<string, Program> = new Map<string, Program>([
  ['echo', (args) => ({ exitCode: 0, stdout: `${args.join(' ')}\n` })],
  ['true', () => ({ exitCode: 0 })],
  ['false', () => ({ exitCode: 1 })],
  [
    'cat',
    (args, stdin, fs) => {
      if (args.length === 0) return { exitCode: 0, stdout: stdin };
      const out: Buffer[] = [];
      let err = '';
      for (const a of args) {
        const f = fs.files.get(a);
        if (f === undefined) err += `cat: ${a}: No such file or directory\n`;
        else out.push(f);
      }
      return { exitCode: err === '' ? 0 : 1, stdout: Buffer.concat(out), stderr: err };
    },
  ],
  [
    'sleep',
    (args) => {
      const s = Number(args[0]);
      if (!(s >= 0)) return { exitCode: 1, stderr: `sleep: invalid time interval '${args[0] ?? ''}'\n` };
      return { exitCode: 0, sleepMs: s * 1000 };
    },
  ],
]);

/** The directories `guest-exec` finds programs in (qemu-ga searches PATH). */
const BIN_DIRS = ['/bin/', '/usr/bin/', '/sbin/', '/usr/sbin/'];

/**
 * `guest-exec` and `guest-exec-status` in the simulated guest: `echo`, `true`, `false`, `cat` (of
 * the in-memory files, or of `input-data`) and `sleep`. A process is reaped when
 * `guest-exec-status` reports it exited, as qemu-ga does.
 */
export class SimGuestExec {
  readonly #fs: SimGuestFs;
  readonly #procs = new Map<number, SimProcess>();
  #nextPid = FIRST_PID;

  constructor(fs: SimGuestFs) {
    this.#fs = fs;
  }

  start(path: string, args: readonly string[], input: Buffer, capture: boolean): { pid: number } {
    const name = path.includes('/')
      ? BIN_DIRS.find((d) => path.startsWith(d) && !path.slice(d.length).includes('/')) !== undefined
        ? path.slice(path.lastIndexOf('/') + 1)
        : undefined
      : path;
    const program = name === undefined ? undefined : PROGRAMS.get(name);
    if (program === undefined) {
      throw new QmpCommandError(
        'GenericError',
        `Guest agent command failed, error was 'Failed to execute child process \u201c${path}\u201d (No such file or directory)'`,
      );
    }
    const r = program(args, input, this.#fs);
    const pid = this.#nextPid++;
    const proc: SimProcess = {
      exitCode: r.sleepMs === undefined ? r.exitCode : undefined,
      stdout: Buffer.from(r.stdout ?? ''),
      stderr: Buffer.from(r.stderr ?? ''),
      capture,
      timer: undefined,
    };
    if (r.sleepMs !== undefined) {
      proc.timer = setTimeout(() => {
        proc.exitCode = r.exitCode;
        proc.timer = undefined;
      }, r.sleepMs);
      proc.timer.unref();
    }
    this.#procs.set(pid, proc);
    return { pid };
  }

  status(pid: number): Record<string, unknown> {
    const proc = this.#procs.get(pid);
    if (proc === undefined) throw new QmpCommandError('GenericError', "Invalid parameter 'pid'");
    if (proc.exitCode === undefined) return { exited: false };
    this.#procs.delete(pid);
    const out: Record<string, unknown> = { exited: true, exitcode: proc.exitCode };
    if (proc.capture) {
      if (proc.stdout.length > 0) out['out-data'] = proc.stdout.toString('base64');
      if (proc.stderr.length > 0) out['err-data'] = proc.stderr.toString('base64');
    }
    return out;
  }

  /** Stops the timers of sleeping processes (the simulated VM is going away). */
  close(): void {
    for (const p of this.#procs.values()) if (p.timer !== undefined) clearTimeout(p.timer);
    this.#procs.clear();
  }
}
