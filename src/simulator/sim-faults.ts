// Fault injection for tests of QMP tools: what goes wrong with a real QEMU (a guest I/O error, a block
// job or migration that fails, QEMU dying, a command that takes long), on demand. Each fault shows on
// the wire as QEMU would show it; none of them exists in QEMU's own command set.
import { QmpUsageError } from '../errors/qmp-error.js';
import { parseKeyValues } from './qemu-options.js';

/** What `blockIoError` takes: like QEMU's BLOCK_IO_ERROR. */
export interface SimIoError {
  /** Backend name (`device`) of the drive. */
  device: string;
  operation?: 'read' | 'write';
  /** What the drive's error policy does: `stop` pauses the VM (run state `io-error`). */
  action?: 'ignore' | 'report' | 'stop';
  nospace?: boolean;
  reason?: string;
}

/** A fault given on the command line (`-sim-fault SPEC`), parsed. */
export type SimFaultSpec =
  | { kind: 'io-error'; error: SimIoError; afterMs: number }
  | { kind: 'job-fail'; error: string }
  | { kind: 'migration-fail'; error: string }
  | { kind: 'crash'; afterMs: number | undefined; command: string | undefined }
  | { kind: 'slow'; command: string; ms: number };

/** What the faults act on: the simulated QEMU's parts. */
export interface SimFaultHooks {
  ioError(e: SimIoError): void;
  failNextJob(error: string): void;
  failNextMigration(error: string): void;
  crash(): void;
  /** Replaces the handler of `command` by `fn` (the original is passed in). */
  wrapCommand(command: string, wrap: (original: () => Promise<unknown>) => Promise<unknown>): void;
}

const DEFAULT_JOB_ERROR = 'Input/output error';
const DEFAULT_MIGRATION_ERROR = 'Unable to write to socket: Broken pipe';

/**
 * The fault-injection API of a simulated QEMU (`sim.faults`). Faults that act later (`crashAfter`,
 * a delayed I/O error) use timers that `close()` of the simulator cancels.
 */
export class SimFaults {
  readonly #hooks: SimFaultHooks;
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(hooks: SimFaultHooks) {
    this.#hooks = hooks;
  }

  /**
   * A guest I/O error on drive `device`: BLOCK_IO_ERROR with the drive's error action; `stop` pauses
   * the VM in run state `io-error` with a STOP event, and `cont` resumes it. Throws QEMU's
   * DeviceNotFound error for an unknown drive.
   */
  blockIoError(e: SimIoError): void {
    this.#hooks.ioError(e);
  }

  /**
   * The next block job started fails at its first step, as after a read error with
   * `on-source-error=report`: BLOCK_JOB_ERROR, then `aborting`, BLOCK_JOB_COMPLETED with `error`,
   * `concluded` (and `null` with auto-dismiss). query-jobs shows `error` while it is concluded.
   */
  failNextJob(options: { error?: string } = {}): void {
    this.#hooks.failNextJob(options.error ?? DEFAULT_JOB_ERROR);
  }

  /** The next migration fails once active: MIGRATION `failed`, and query-migrate's `error-desc`. */
  failMigration(options: { error?: string } = {}): void {
    this.#hooks.failNextMigration(options.error ?? DEFAULT_MIGRATION_ERROR);
  }

  /** QEMU dies: every connection drops without a word, and the simulator exits (reason `crashed`). */
  crash(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#hooks.crash();
  }

  /** Crashes when `command` arrives, before it answers (a QEMU that dies on that command). */
  crashOn(command: string): void {
    this.#hooks.wrapCommand(command, () => {
      this.crash();
      return new Promise<never>(() => {});
    });
  }

  /** `command` answers `ms` milliseconds late; like a slow command in QEMU, it holds up the requests behind it. */
  slowCommand(command: string, ms: number): void {
    if (!(ms >= 0)) throw new QmpUsageError(`slowCommand: ms must be a non-negative number (got ${ms})`);
    this.#hooks.wrapCommand(command, async (original) => {
      // Unref'd: a slow command must not keep a closing simulator's process alive.
      await new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
      return original();
    });
  }

  /** Applies a parsed `-sim-fault` spec. */
  apply(spec: SimFaultSpec): void {
    switch (spec.kind) {
      case 'io-error':
        this.#later(spec.afterMs, () => this.blockIoError(spec.error));
        return;
      case 'job-fail':
        this.failNextJob({ error: spec.error });
        return;
      case 'migration-fail':
        this.failMigration({ error: spec.error });
        return;
      case 'crash':
        if (spec.command !== undefined) this.crashOn(spec.command);
        else this.#later(spec.afterMs ?? 0, () => this.crash());
        return;
      case 'slow':
        this.slowCommand(spec.command, spec.ms);
        return;
    }
  }

  #later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    t.unref();
    this.#timers.add(t);
  }

  /** Cancels faults still waiting for their time. */
  close(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }
}

function ms(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new QmpUsageError(`-sim-fault ${what}: expects milliseconds (got '${v}')`);
  return n;
}

function oneOf<T extends string>(v: string | undefined, allowed: readonly T[], what: string): T | undefined {
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v))
    throw new QmpUsageError(`-sim-fault ${what}: expects ${allowed.join(', ')} (got '${v}')`);
  return v as T;
}

/**
 * Parses a `-sim-fault` spec: `io-error,device=ID[,operation=read|write][,action=ignore|report|stop]
 * [,nospace=on][,after=MS]`, `job-fail[,error=TEXT]`, `migration-fail[,error=TEXT]`,
 * `crash[,after=MS|,command=NAME]`, `slow,command=NAME,ms=N`.
 */
export function parseFaultSpec(spec: string): SimFaultSpec {
  const o = parseKeyValues(spec, 'kind');
  const kind = o['kind'];
  const known = (...keys: string[]): void => {
    for (const k of Object.keys(o))
      if (k !== 'kind' && !keys.includes(k)) throw new QmpUsageError(`-sim-fault ${kind}: unknown key '${k}'`);
  };
  switch (kind) {
    case 'io-error': {
      known('device', 'operation', 'action', 'nospace', 'after');
      const device = o['device'];
      if (device === undefined) throw new QmpUsageError('-sim-fault io-error: needs device=ID');
      const operation = oneOf(o['operation'], ['read', 'write'] as const, 'operation');
      const action = oneOf(o['action'], ['ignore', 'report', 'stop'] as const, 'action');
      return {
        kind,
        error: {
          device,
          ...(operation ? { operation } : {}),
          ...(action ? { action } : {}),
          ...(o['nospace'] === 'on' ? { nospace: true } : {}),
        },
        afterMs: ms(o['after'], 'after') ?? 0,
      };
    }
    case 'job-fail':
      known('error');
      return { kind, error: o['error'] ?? DEFAULT_JOB_ERROR };
    case 'migration-fail':
      known('error');
      return { kind, error: o['error'] ?? DEFAULT_MIGRATION_ERROR };
    case 'crash':
      known('after', 'command');
      return { kind, afterMs: ms(o['after'], 'after'), command: o['command'] };
    case 'slow': {
      known('command', 'ms');
      const command = o['command'];
      const delay = ms(o['ms'], 'ms');
      if (command === undefined || delay === undefined)
        throw new QmpUsageError('-sim-fault slow: needs command=NAME,ms=N');
      return { kind, command, ms: delay };
    }
    default:
      throw new QmpUsageError(
        `-sim-fault ${kind ?? spec}: unknown fault (io-error, job-fail, migration-fail, crash, slow)`,
      );
  }
}
