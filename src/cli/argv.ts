import { QmpUsageError } from '../errors/qmp-error.js';

/** One option a command accepts. The key of the spec record is its long name (`pretty` for `--pretty`). */
export interface OptionSpec {
  readonly type: 'boolean' | 'string';
  /** One-letter alias (`p` for `-p`). Booleans can be grouped: `-pv`. */
  readonly short?: string;
  /** May be given several times (`--name A --name B`). */
  readonly multiple?: boolean;
}

/** The result of `parseArgv`. */
export class ParsedArgv {
  readonly #flags: ReadonlySet<string>;
  readonly #values: ReadonlyMap<string, readonly string[]>;
  /** Arguments that are not options, in order. */
  readonly positionals: readonly string[];
  /** Arguments after `--` (or after the first positional with `stopAtPositional`), verbatim; undefined when none. */
  readonly rest: readonly string[] | undefined;

  constructor(
    flags: ReadonlySet<string>,
    values: ReadonlyMap<string, readonly string[]>,
    positionals: readonly string[],
    rest: readonly string[] | undefined,
  ) {
    this.#flags = flags;
    this.#values = values;
    this.positionals = positionals;
    this.rest = rest;
  }

  /** True when the boolean option was given. */
  flag(name: string): boolean {
    return this.#flags.has(name);
  }

  /** The value of a string option (the last one when repeated), or undefined. */
  string(name: string): string | undefined {
    const v = this.#values.get(name);
    return v === undefined ? undefined : v[v.length - 1];
  }

  /** Every value of a repeatable option, in order. */
  strings(name: string): readonly string[] {
    return this.#values.get(name) ?? [];
  }

  /** A non-negative integer option (`--count 3`), or undefined. Throws `QmpUsageError` on anything else. */
  integer(name: string, min = 0): number | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v)) || Number(v) < min) {
      throw new QmpUsageError(`--${name} needs an integer >= ${min}, got '${v}'`);
    }
    return Number(v);
  }
}

/**
 * Parses a command's argv (without the command itself) against `spec`: `--long`, `--long=value`,
 * `--long value`, `-s value`, `-svalue`, grouped short booleans (`-pv`), and `--` to end options.
 * Options and positionals may be mixed, unless `stopAtPositional` is set: then the first positional
 * and everything after it goes to `rest` untouched (for `launch QEMU ARGS...`). Throws `QmpUsageError`.
 */
export function parseArgv(
  argv: readonly string[],
  spec: Readonly<Record<string, OptionSpec>>,
  options: { readonly command: string; readonly stopAtPositional?: boolean },
): ParsedArgv {
  const flags = new Set<string>();
  const values = new Map<string, string[]>();
  const positionals: string[] = [];
  let rest: string[] | undefined;
  const byShort = new Map<string, string>();
  for (const [name, s] of Object.entries(spec)) if (s.short !== undefined) byShort.set(s.short, name);
  function usage(msg: string): never {
    throw new QmpUsageError(`${options.command}: ${msg} (see '${options.command} --help')`);
  }
  const set = (name: string, value: string | undefined, display: string): void => {
    const s = spec[name];
    if (s === undefined) usage(`unknown option '${display}'`);
    if (s.type === 'boolean') {
      if (value !== undefined) usage(`option '${display}' takes no value`);
      flags.add(name);
      return;
    }
    if (value === undefined) usage(`option '${display}' needs a value`);
    const list = values.get(name);
    if (list !== undefined && !s.multiple) usage(`option '${display}' given twice`);
    if (list === undefined) values.set(name, [value]);
    else list.push(value);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const takeNext = (display: string): string => {
      const next = argv[i + 1];
      if (next === undefined) return usage(`option '${display}' needs a value`);
      i++;
      return next;
    };
    if (arg === '--') {
      rest = argv.slice(i + 1);
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      const s = spec[name];
      if (s === undefined) usage(`unknown option '--${name}'`);
      if (eq !== -1) set(name, arg.slice(eq + 1), `--${name}`);
      else set(name, s?.type === 'string' ? takeNext(arg) : undefined, arg);
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      for (let j = 1; j < arg.length; j++) {
        const letter = arg[j] ?? '';
        const name = byShort.get(letter);
        if (name === undefined) return usage(`unknown option '-${letter}'`);
        if (spec[name]?.type === 'string') {
          set(name, j + 1 < arg.length ? arg.slice(j + 1) : takeNext(`-${letter}`), `-${letter}`);
          break;
        }
        set(name, undefined, `-${letter}`);
      }
      continue;
    }
    if (options.stopAtPositional) {
      rest = argv.slice(i);
      break;
    }
    positionals.push(arg);
  }
  return new ParsedArgv(flags, values, positionals, rest);
}
