import { QmpUsageError } from '../errors/qmp-error.js';
import { MAX_DEPTH } from '../limits.js';
import { QNum, type QValue } from './q-value.js';

/**
 * What `JSON.stringify` leaves that must not reach a QMP peer as is: DEL and every non-ASCII UTF-16
 * unit (lone surrogates come out of JSON.stringify escaped already), and its short escapes for
 * control characters, which become `\u00XX` too. `\\\\` is matched so an escaped backslash followed
 * by `n` is not mistaken for `\n`.
 */
const NEEDS_REWRITE_RE = /[\\\u007f-\uffff]/;
const REWRITE_RE = /\\[\\bfnrt]|[\u007f-\uffff]/g;

function hex4(code: number): string {
  return `\\u${code.toString(16).padStart(4, '0')}`;
}

function rewrite(m: string): string {
  if (m.length === 1) return hex4(m.charCodeAt(0));
  switch (m.charCodeAt(1)) {
    case 0x62 /* b */:
      return '\\u0008';
    case 0x66 /* f */:
      return '\\u000c';
    case 0x6e /* n */:
      return '\\u000a';
    case 0x72 /* r */:
      return '\\u000d';
    case 0x74 /* t */:
      return '\\u0009';
    default:
      return m; // an escaped backslash
  }
}

/** Makes JSON text from `JSON.stringify` ASCII-only with `\uXXXX` escapes (structure is ASCII already). */
function asciiOnly(json: string): string {
  return NEEDS_REWRITE_RE.test(json) ? json.replace(REWRITE_RE, rewrite) : json;
}

const UNSAFE_RE = /[^\x20-\x5b\x5d-\x7e]/;

/** A string JSON.stringify writes as is and ASCII-only: printable ASCII, no backslash. */
function asciiSafe(s: string): boolean {
  if (s.length > 32) return !UNSAFE_RE.test(s);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c >= 0x7f || c === 0x5c) return false;
  }
  return true;
}

/** Printable ASCII with no quote or backslash: the content of a string token as it is. */
function plainToken(s: string): boolean {
  return asciiSafe(s) && !s.includes('"');
}

/** What the fast-path walk found. */
type Plainness = 'not-plain' | 'ascii' | 'rewrite';

/**
 * Whether `JSON.stringify(v)` gives what {@link encodeJson} must: plain objects and arrays only (no
 * `toJSON`, no class instances), finite numbers, no bigint, nesting within the limit (`not-plain`
 * otherwise); and whether its text is ASCII-only as is (`ascii`) or needs {@link asciiOnly}
 * (`rewrite`). Strings are checked here, not in the output: JSON.stringify returns a string that is
 * slow to read back. Bounded by the depth limit, so a cycle costs no more than that.
 */
function plainness(v: object, depth: number): Plainness {
  if (depth >= MAX_DEPTH) return 'not-plain';
  let r: Plainness = 'ascii';
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      switch (typeof x) {
        case 'string':
          if (r === 'ascii' && !asciiSafe(x)) r = 'rewrite';
          break;
        case 'number':
          if (!Number.isFinite(x)) return 'not-plain';
          break;
        case 'bigint':
          return 'not-plain';
        case 'object':
          if (x !== null) {
            const k = plainness(x, depth + 1);
            if (k === 'not-plain') return k;
            if (k === 'rewrite') r = k;
          }
          break;
        default:
          break;
      }
    }
    return r;
  }
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return 'not-plain';
  const o = v as Record<string, unknown>;
  if (typeof o['toJSON'] === 'function') return 'not-plain';
  for (const key in o) {
    const x = o[key];
    switch (typeof x) {
      case 'string':
        if (r === 'ascii' && !asciiSafe(x)) r = 'rewrite';
        break;
      case 'number':
        if (!Number.isFinite(x)) return 'not-plain';
        break;
      case 'bigint':
        return 'not-plain';
      case 'object':
        if (x !== null) {
          const k = plainness(x, depth + 1);
          if (k === 'not-plain') return k;
          if (k === 'rewrite') r = k;
        }
        break;
      default:
        break;
    }
    if (r === 'ascii' && !asciiSafe(key)) r = 'rewrite';
  }
  return r;
}

function encodeString(s: string): string {
  // JSON.stringify escapes quotes, backslashes, control characters and lone surrogates.
  return asciiOnly(JSON.stringify(s));
}

/** The exact encoder, with a path to name in errors. `undefined` for what JSON leaves out. */
function encodeValue(v: unknown, depth: number, path: string): string | undefined {
  switch (typeof v) {
    case 'string':
      return encodeString(v);
    case 'number':
      if (!Number.isFinite(v))
        throw new QmpUsageError(`Cannot encode ${String(v)} at ${path}: JSON has no such number`);
      return JSON.stringify(v);
    case 'bigint':
      return v.toString();
    case 'boolean':
      return v ? 'true' : 'false';
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    default:
      break;
  }
  if (v === null) return 'null';
  if (depth >= MAX_DEPTH) {
    throw new QmpUsageError(
      `Cannot encode ${path}: nested deeper than ${MAX_DEPTH} levels, or a cycle (a value that contains itself)`,
    );
  }
  const obj = v as { toJSON?: unknown };
  if (typeof obj.toJSON === 'function') return encodeValue((obj.toJSON as () => unknown).call(v), depth, path);
  if (Array.isArray(v)) {
    let s = '[';
    for (let i = 0; i < v.length; i++) {
      if (i > 0) s += ',';
      s += encodeValue(v[i], depth + 1, `${path}[${i}]`) ?? 'null';
    }
    return `${s}]`;
  }
  if (v instanceof Map || v instanceof Set) {
    throw new QmpUsageError(`Cannot encode a ${v.constructor.name} at ${path}: use a plain object or array`);
  }
  let s = '{';
  let first = true;
  for (const key of Object.keys(v as object)) {
    const enc = encodeValue((v as Record<string, unknown>)[key], depth + 1, `${path}.${key}`);
    if (enc === undefined) continue;
    s += `${first ? '' : ','}${encodeString(key)}:${enc}`;
    first = false;
  }
  return `${s}}`;
}

/**
 * Encodes a value as compact JSON (`{"a":1,"b":[true,null]}`, no newline) whose text is ASCII only:
 * `"` and `\` are escaped, and every control character, DEL, non-ASCII character and lone surrogate
 * becomes `\uXXXX`. A `bigint` is written as a plain integer. Like `JSON.stringify`, members whose value
 * is `undefined` (or a function or symbol) are left out, array elements that are become `null`, and
 * `toJSON()` is honoured.
 *
 * @throws QmpUsageError for a non-finite number, a top-level value JSON cannot hold (`undefined`, a
 * function, a symbol), a `Map` or `Set`, and nesting deeper than {@link MAX_DEPTH} (which is
 * also how a cycle shows).
 */
export function encodeJson(value: unknown): string {
  // Fast path for the usual command object: JSON.stringify, once a walk has shown it would be exact.
  if (value !== null && typeof value === 'object') {
    const p = plainness(value, 0);
    if (p === 'ascii') return JSON.stringify(value);
    if (p === 'rewrite') return asciiOnly(JSON.stringify(value));
  }
  const out = encodeValue(value, 0, 'value');
  if (out === undefined) throw new QmpUsageError(`Cannot encode a ${typeof value} as JSON`);
  return out;
}

/** Encodes one message for the wire: {@link encodeJson} plus a newline (QMP reads one message per line). */
export function encodeMessage(value: unknown): string {
  return `${encodeJson(value)}\n`;
}

/**
 * A double in text QEMU's parser reads back as a double: the shortest exact digits, with `.0` added
 * when they would read as an integer (`1.0`, `-0.0`); infinities as an exponent out of range.
 */
function qemuDouble(x: number): string {
  if (Object.is(x, -0)) return '-0.0';
  // QEMU's parser has no infinity literal but turns an out-of-range exponent into one.
  if (x === Number.POSITIVE_INFINITY) return '1e999';
  if (x === Number.NEGATIVE_INFINITY) return '-1e999';
  const s = String(x);
  return /[.eEn]/.test(s) ? s : `${s}.0`;
}

/**
 * Encodes a value as QEMU's parser produced it, compactly and so that QEMU parses it back the same:
 * members in their insertion order (QEMU's order of "unexpected" members depends on it), and numbers
 * keeping their kind (`1.0` stays a double, integers beyond 2^53 stay exact). Strings as
 * {@link encodeJson} writes them. Depth is bounded by the parser that made the value.
 */
export function encodeQValue(v: QValue): string {
  switch (typeof v) {
    case 'string':
      return plainToken(v) ? `"${v}"` : encodeString(v);
    case 'boolean':
      return v ? 'true' : 'false';
    default:
      break;
  }
  if (v === null) return 'null';
  if (v instanceof QNum) return v.kind === 'double' ? qemuDouble(v.value as number) : String(v.value);
  if (Array.isArray(v)) {
    let s = '[';
    for (let i = 0; i < v.length; i++) s += (i > 0 ? ',' : '') + encodeQValue(v[i] as QValue);
    return `${s}]`;
  }
  let s = '{';
  let first = true;
  for (const [k, x] of v) {
    s += `${first ? '' : ','}${plainToken(k) ? `"${k}"` : encodeString(k)}:${encodeQValue(x)}`;
    first = false;
  }
  return `${s}}`;
}

/** Pieces shorter than this are joined into one string before they are copied out. */
const SMALL_PIECE = 256;

/**
 * {@link encodeQValue} written straight into a Buffer, the same bytes: a large string argument is
 * copied once, into the Buffer, and no text of the whole value is built (for a value the size of its
 * strings, that text would cost the size again). The output is ASCII-only, so each character is one
 * byte.
 */
export function encodeQValueBytes(v: QValue): Buffer {
  const pieces: string[] = [];
  let small = '';
  let total = 0;
  const put = (s: string): void => {
    total += s.length;
    if (s.length < SMALL_PIECE) {
      small += s;
      return;
    }
    if (small !== '') pieces.push(small);
    small = '';
    pieces.push(s);
  };
  const token = (s: string): void => {
    if (!plainToken(s)) {
      put(encodeString(s));
      return;
    }
    put('"');
    put(s);
    put('"');
  };
  const walk = (x: QValue): void => {
    if (typeof x === 'string') token(x);
    else if (x === null || typeof x === 'boolean' || x instanceof QNum) put(encodeQValue(x));
    else if (Array.isArray(x)) {
      put('[');
      for (let i = 0; i < x.length; i++) {
        if (i > 0) put(',');
        walk(x[i] as QValue);
      }
      put(']');
    } else walkObject(x);
  };
  const walkObject = (x: ReadonlyMap<string, QValue>): void => {
    put('{');
    let first = true;
    for (const [k, e] of x) {
      if (!first) put(',');
      first = false;
      token(k);
      put(':');
      walk(e);
    }
    put('}');
  };
  walk(v);
  if (small !== '') pieces.push(small);
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const p of pieces) at += out.write(p, at, 'latin1');
  return out;
}
