import { QmpLimitError, QmpProtocolError } from '../errors/qmp-error.js';
import { MAX_DEPTH } from '../limits.js';
import type { JsonObject, JsonValue } from './json-value.js';

/** Options of {@link decodeJson}. */
export interface JsonDecodeOptions {
  /** Deepest `{`/`[` nesting accepted (default {@link MAX_DEPTH}, 1024). */
  maxDepth?: number;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/**
 * A run of 16 digits: the shortest integer token beyond 2^53−1 has 16. Spelled out rather than
 * `[0-9]{16}` because V8 then skips ahead 16 characters at a time (Boyer–Moore lookahead), which makes
 * the test about five times faster on big replies.
 */
const LONG_DIGITS_RE = /[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]/;

/** True when `text` may hold an integer token that `JSON.parse` would round. */
export function mayHoldBigInt(text: string): boolean {
  return text.length >= 16 && LONG_DIGITS_RE.test(text);
}

/** Up to 24 characters either side of `at`, quoted, for error messages. */
export function jsonExcerpt(text: string, at: number): string {
  const from = Math.max(0, at - 24);
  const to = Math.min(text.length, at + 24);
  return `${from > 0 ? '…' : ''}${JSON.stringify(text.slice(from, to))}${to < text.length ? '…' : ''}`;
}

export function depthError(maxDepth: number): QmpLimitError {
  return new QmpLimitError(
    `A message nested deeper than ${maxDepth} levels was rejected (raise the maxDepth option)`,
    'maxDepth',
    maxDepth,
  );
}

/** Recursion is cheaper than an explicit stack; it is used only while the JS stack surely has room. */
const RECURSIVE_WALK_MAX_DEPTH = 2048;

function nestsWithin(v: object, budget: number): boolean {
  if (budget === 0) return false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (x !== null && typeof x === 'object' && !nestsWithin(x, budget - 1)) return false;
    }
    return true;
  }
  const o = v as Record<string, unknown>;
  for (const k in o) {
    const x = o[k];
    if (x !== null && typeof x === 'object' && !nestsWithin(x, budget - 1)) return false;
  }
  return true;
}

function nestsWithinIterative(root: object, max: number): boolean {
  const stack: object[] = [root];
  const depths: number[] = [1];
  while (stack.length > 0) {
    const o = stack.pop() as object;
    const d = depths.pop() as number;
    if (d > max) return false;
    const members: unknown[] = Array.isArray(o) ? o : Object.values(o);
    for (const x of members) {
      if (x !== null && typeof x === 'object') {
        stack.push(x);
        depths.push(d + 1);
      }
    }
  }
  return true;
}

/**
 * True when a value from `JSON.parse(text)` nests no deeper than `max`. A text shorter than 2·max+1
 * characters cannot nest deeper, which spares the walk on every small message.
 */
export function depthWithin(value: JsonValue, textLength: number, max: number): boolean {
  if (textLength <= 2 * max || value === null || typeof value !== 'object') return true;
  return max <= RECURSIVE_WALK_MAX_DEPTH ? nestsWithin(value, max) : nestsWithinIterative(value, max);
}

type Container = JsonValue[] | JsonObject;

const ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

/**
 * The lossless parser: strict JSON plus QEMU's `inf`, `-inf`, `nan` (and glibc's `-nan`) tokens;
 * integer tokens beyond ±(2^53−1) become `bigint`. Iterative (an explicit stack), so nesting costs
 * memory bounded by `maxDepth`, never JS stack.
 */
class LosslessParser {
  readonly #t: string;
  readonly #maxDepth: number;
  #p = 0;

  constructor(text: string, maxDepth: number) {
    this.#t = text;
    this.#maxDepth = maxDepth;
  }

  parse(): JsonValue {
    const t = this.#t;
    const stack: Container[] = [];
    /** Member name awaiting its value, per open object (unused slots for arrays). */
    const keys: string[] = [];
    let value: JsonValue;
    for (;;) {
      // Parse one value; an opening bracket pushes and loops back here for its first member.
      this.#ws();
      const c = t.charCodeAt(this.#p);
      if (c === 0x7b || c === 0x5b) {
        if (stack.length >= this.#maxDepth) throw depthError(this.#maxDepth);
        this.#p++;
        this.#ws();
        if (c === 0x7b) {
          if (t.charCodeAt(this.#p) === 0x7d) {
            this.#p++;
            value = {};
          } else {
            stack.push({});
            keys.push(this.#memberName());
            continue;
          }
        } else if (t.charCodeAt(this.#p) === 0x5d) {
          this.#p++;
          value = [];
        } else {
          stack.push([]);
          keys.push('');
          continue;
        }
      } else {
        value = this.#scalar(c);
      }
      // Attach the value to its container; close containers as their brackets come.
      for (;;) {
        const top = stack[stack.length - 1];
        if (top === undefined) {
          this.#ws();
          if (this.#p !== t.length) this.#fail('unexpected data after the value');
          return value;
        }
        if (Array.isArray(top)) top.push(value);
        else setMember(top, keys[keys.length - 1] as string, value);
        this.#ws();
        const d = t.charCodeAt(this.#p++);
        if (d === 0x2c) {
          if (!Array.isArray(top)) {
            this.#ws();
            keys[keys.length - 1] = this.#memberName();
          }
          break;
        }
        if (d !== (Array.isArray(top) ? 0x5d : 0x7d)) {
          this.#p--;
          this.#fail(Array.isArray(top) ? "expected ',' or ']'" : "expected ',' or '}'");
        }
        stack.pop();
        keys.pop();
        value = top;
      }
    }
  }

  #fail(what: string): never {
    const at = Math.min(this.#p, this.#t.length);
    throw new QmpProtocolError(`Invalid JSON: ${what} at offset ${at} near ${jsonExcerpt(this.#t, at)}`, {
      code: 'QMP_ERR_JSON',
    });
  }

  #ws(): void {
    const t = this.#t;
    let p = this.#p;
    for (;;) {
      const c = t.charCodeAt(p);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++;
      else break;
    }
    this.#p = p;
  }

  /** `"name"` then `:`; leaves the position at the value. */
  #memberName(): string {
    if (this.#t.charCodeAt(this.#p) !== 0x22) this.#fail('expected a member name');
    const key = this.#string();
    this.#ws();
    if (this.#t.charCodeAt(this.#p) !== 0x3a) this.#fail("expected ':'");
    this.#p++;
    return key;
  }

  #scalar(c: number): JsonValue {
    switch (c) {
      case 0x22:
        return this.#string();
      case 0x74:
        return this.#word('true', true);
      case 0x66:
        return this.#word('false', false);
      case 0x6e:
        return this.#t.startsWith('nan', this.#p) ? this.#word('nan', Number.NaN) : this.#word('null', null);
      case 0x69:
        return this.#word('inf', Number.POSITIVE_INFINITY);
      case 0x2d:
        if (this.#t.startsWith('-inf', this.#p)) return this.#word('-inf', Number.NEGATIVE_INFINITY);
        if (this.#t.startsWith('-nan', this.#p)) return this.#word('-nan', Number.NaN);
        return this.#number();
      default:
        if (c >= 0x30 && c <= 0x39) return this.#number();
        return this.#fail(Number.isNaN(c) ? 'unexpected end of input' : 'expected a value');
    }
  }

  #word<T extends JsonValue>(w: string, v: T): T {
    if (!this.#t.startsWith(w, this.#p)) this.#fail('unexpected token');
    this.#p += w.length;
    // `nullx` or `inf1` is one bad token, not a value followed by garbage.
    const next = this.#t.charCodeAt(this.#p);
    if ((next >= 0x61 && next <= 0x7a) || (next >= 0x30 && next <= 0x39)) this.#fail('unexpected token');
    return v;
  }

  #digits(): number {
    const t = this.#t;
    const from = this.#p;
    let p = from;
    for (let c = t.charCodeAt(p); c >= 0x30 && c <= 0x39; c = t.charCodeAt(++p));
    this.#p = p;
    return p - from;
  }

  #number(): number | bigint {
    const t = this.#t;
    const start = this.#p;
    if (t.charCodeAt(this.#p) === 0x2d) this.#p++;
    const intStart = this.#p;
    const intDigits = this.#digits();
    if (intDigits === 0) this.#fail('expected a digit');
    if (intDigits > 1 && t.charCodeAt(intStart) === 0x30) {
      this.#p = intStart + 1;
      this.#fail('unexpected digit after a leading 0');
    }
    let integer = true;
    if (t.charCodeAt(this.#p) === 0x2e) {
      integer = false;
      this.#p++;
      if (this.#digits() === 0) this.#fail('expected a digit after the decimal point');
    }
    const e = t.charCodeAt(this.#p);
    if (e === 0x65 || e === 0x45) {
      integer = false;
      this.#p++;
      const sign = t.charCodeAt(this.#p);
      if (sign === 0x2b || sign === 0x2d) this.#p++;
      if (this.#digits() === 0) this.#fail('expected a digit in the exponent');
    }
    const tok = t.slice(start, this.#p);
    const n = Number(tok);
    // Only an integer token can be kept exact; fractions and exponents stay doubles like JSON.parse.
    if (!integer || intDigits < 16 || (n <= MAX_SAFE && n >= -MAX_SAFE)) return n;
    return BigInt(tok);
  }

  #string(): string {
    const t = this.#t;
    const start = this.#p + 1;
    let p = start;
    for (;;) {
      const c = t.charCodeAt(p);
      if (c === 0x22) {
        this.#p = p + 1;
        return t.slice(start, p);
      }
      if (c === 0x5c) break;
      if (!(c >= 0x20)) {
        this.#p = p;
        this.#fail(Number.isNaN(c) ? 'unterminated string' : 'raw control character in a string');
      }
      p++;
    }
    // Escapes: build the string piece by piece.
    let out = t.slice(start, p);
    let from = p;
    for (;;) {
      const c = t.charCodeAt(p);
      if (c === 0x22) {
        this.#p = p + 1;
        return out + t.slice(from, p);
      }
      if (c === 0x5c) {
        out += t.slice(from, p);
        const e = t.charAt(p + 1);
        if (e === 'u') {
          const hex = t.slice(p + 2, p + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
            this.#p = p;
            this.#fail('bad \\u escape');
          }
          out += String.fromCharCode(Number.parseInt(hex, 16));
          p += 6;
        } else {
          const r = ESCAPES[e];
          if (r === undefined) {
            this.#p = p;
            this.#fail('bad escape');
          }
          out += r;
          p += 2;
        }
        from = p;
        continue;
      }
      if (!(c >= 0x20)) {
        this.#p = p;
        this.#fail(Number.isNaN(c) ? 'unterminated string' : 'raw control character in a string');
      }
      p++;
    }
  }
}

function setMember(o: JsonObject, key: string, v: JsonValue): void {
  // A member called __proto__ must stay an ordinary member, as with JSON.parse.
  if (key === '__proto__')
    Object.defineProperty(o, key, { value: v, writable: true, enumerable: true, configurable: true });
  else o[key] = v;
}

/** Decodes with the lossless parser only (no `JSON.parse` fast path). */
export function decodeJsonLossless(text: string, maxDepth: number = MAX_DEPTH): JsonValue {
  return new LosslessParser(text, maxDepth).parse();
}

/**
 * Decodes one complete JSON text. `JSON.parse` does the work unless the text may hold an integer it
 * would round (a run of 16 digits) or QEMU's non-JSON tokens; those, and every error (for its
 * excerpt), go through the lossless parser. `checkDepth: false` when the caller enforced maxDepth.
 */
export function decodeJsonText(text: string, maxDepth: number, checkDepth = true): JsonValue {
  if (mayHoldBigInt(text)) return decodeJsonLossless(text, maxDepth);
  let value: JsonValue;
  try {
    value = JSON.parse(text) as JsonValue;
  } catch {
    return decodeJsonLossless(text, maxDepth);
  }
  if (checkDepth && !depthWithin(value, text.length, maxDepth)) throw depthError(maxDepth);
  return value;
}

/**
 * Decodes one JSON text exactly: integer tokens beyond ±(2^53−1) become `bigint` (all other numbers,
 * including those with a fraction or exponent, stay `number`), and QEMU's non-JSON `inf`, `-inf` and
 * `nan` become `Infinity`, `-Infinity` and `NaN`. Bytes are read as UTF-8.
 *
 * @throws QmpProtocolError (code `QMP_ERR_JSON`, with an excerpt) for invalid JSON.
 * @throws QmpLimitError (limit `maxDepth`) for nesting deeper than `maxDepth`.
 */
export function decodeJson(input: string | Uint8Array, options: JsonDecodeOptions = {}): JsonValue {
  const text =
    typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('utf8');
  return decodeJsonText(text, options.maxDepth ?? MAX_DEPTH);
}
