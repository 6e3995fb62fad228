/** Where a request first differs from the recorded one. */
export interface QmpRequestDifference {
  /** Dotted member path with `[i]` for list elements (`execute`, `arguments.device`, `arguments.keys[1]`). */
  readonly path: string;
  /** The recorded value there (`undefined`: the recording has no such member). */
  readonly expected: unknown;
  /** The client's value there (`undefined`: the client sent no such member). */
  readonly got: unknown;
}

type Plain = Record<string, unknown>;

function isPlainObject(v: unknown): v is Plain {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNumeric(v: unknown): v is number | bigint {
  return typeof v === 'number' || typeof v === 'bigint';
}

function sameNumber(a: number | bigint, b: number | bigint): boolean {
  if (typeof a === typeof b) return a === b;
  const n = typeof a === 'number' ? a : (b as number);
  const big = typeof a === 'bigint' ? a : (b as bigint);
  return Number.isInteger(n) && BigInt(n) === big;
}

/** `true` when `path` is one of `ignored` or lies below one (`arguments.x` ignores `arguments.x.y` and `arguments.x[0]`). */
function isIgnored(path: string, ignored: readonly string[]): boolean {
  return ignored.some((p) => path === p || path.startsWith(`${p}.`) || path.startsWith(`${p}[`));
}

function memberPath(base: string, key: string): string {
  return base === '' ? key : `${base}.${key}`;
}

/**
 * The first place where `got` differs from `expected`, walking the recorded members in their
 * order, then members only the client sent. Numbers compare by value (`2` equals `2n`); object
 * member order does not matter. Paths in `ignored` (and everything below them) are skipped.
 * Recursion is bounded by the nesting limits of the recording's and the request's parsers.
 */
export function firstDifference(
  expected: unknown,
  got: unknown,
  ignored: readonly string[] = [],
  path = '',
): QmpRequestDifference | undefined {
  if (path !== '' && isIgnored(path, ignored)) return undefined;
  if (isNumeric(expected) && isNumeric(got)) return sameNumber(expected, got) ? undefined : { path, expected, got };
  if (Array.isArray(expected) && Array.isArray(got)) {
    const n = Math.max(expected.length, got.length);
    for (let i = 0; i < n; i++) {
      const d = firstDifference(expected[i], got[i], ignored, `${path}[${i}]`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  if (isPlainObject(expected) && isPlainObject(got)) {
    for (const key of Object.keys(expected)) {
      const d = firstDifference(
        expected[key],
        Object.hasOwn(got, key) ? got[key] : undefined,
        ignored,
        memberPath(path, key),
      );
      if (d !== undefined) return d;
    }
    for (const key of Object.keys(got)) {
      if (Object.hasOwn(expected, key)) continue;
      const d = firstDifference(undefined, got[key], ignored, memberPath(path, key));
      if (d !== undefined) return d;
    }
    return undefined;
  }
  return expected === got ? undefined : { path, expected, got };
}

/** Deep equality as {@link firstDifference} sees it. */
export function sameValue(a: unknown, b: unknown): boolean {
  return firstDifference(a, b) === undefined;
}

const MAX_SHOWN_CHARS = 200;

/** A value as it appears in a mismatch message: compact JSON (exact big integers), cut after 200 characters. */
export function showValue(v: unknown): string {
  if (v === undefined) return '(absent)';
  const text = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `\u0000${x}` : x)).replace(
    /"\\u0000(-?\d+)"/g,
    '$1',
  );
  return text.length > MAX_SHOWN_CHARS ? `${text.slice(0, MAX_SHOWN_CHARS)}…` : text;
}
