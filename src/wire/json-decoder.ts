import { QmpLimitError, QmpProtocolError } from '../errors/qmp-error.js';
import { MAX_NESTING_DEPTH } from '../limits.js';
import type { JsonObject, JsonValue } from './json-value.js';

/** Options of {@link decodeJson}. */
export interface JsonDecodeOptions {
  /** Deepest `{`/`[` nesting accepted (default {@link MAX_NESTING_DEPTH}). */
  maxDepth?: number;
}

const MAX_SAFE = 9007199254740991;
const NUMBER_RE = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

function excerpt(text: string, at: number): string {
  const from = Math.max(0, at - 20);
  return JSON.stringify(text.slice(from, at + 20));
}

/**
 * A small lossless JSON parser: integers outside ±(2^53−1) become `bigint`, and QEMU's non-JSON
 * `inf`/`-inf`/`nan` tokens (from printf `%.17g`) become numbers. Used only for messages the fast
 * path (`JSON.parse`) cannot decode exactly.
 */
class LosslessParser {
  readonly #text: string;
  readonly #maxDepth: number;
  #pos = 0;

  constructor(text: string, maxDepth: number) {
    this.#text = text;
    this.#maxDepth = maxDepth;
  }

  parse(): JsonValue {
    this.#ws();
    const v = this.#value(0);
    this.#ws();
    if (this.#pos !== this.#text.length) this.#fail('unexpected data after the value');
    return v;
  }

  #fail(what: string): never {
    throw new QmpProtocolError(`Invalid JSON: ${what} at offset ${this.#pos} near ${excerpt(this.#text, this.#pos)}`, {
      code: 'QMP_ERR_JSON',
    });
  }

  #ws(): void {
    const t = this.#text;
    let p = this.#pos;
    for (;;) {
      const c = t.charCodeAt(p);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++;
      else break;
    }
    this.#pos = p;
  }

  #value(depth: number): JsonValue {
    const t = this.#text;
    const c = t.charCodeAt(this.#pos);
    switch (c) {
      case 0x7b /* { */:
        return this.#object(depth + 1);
      case 0x5b /* [ */:
        return this.#array(depth + 1);
      case 0x22 /* " */:
        return this.#string();
      case 0x74 /* t */:
        return this.#word('true', true);
      case 0x66 /* f */:
        return this.#word('false', false);
      case 0x6e /* n */:
        return t.startsWith('nan', this.#pos) ? this.#word('nan', Number.NaN) : this.#word('null', null);
      case 0x69 /* i */:
        return this.#word('inf', Number.POSITIVE_INFINITY);
      default:
        if (c === 0x2d && t.startsWith('-inf', this.#pos)) return this.#word('-inf', Number.NEGATIVE_INFINITY);
        return this.#number();
    }
  }

  #word<T extends JsonValue>(w: string, v: T): T {
    if (!this.#text.startsWith(w, this.#pos)) this.#fail('unexpected token');
    this.#pos += w.length;
    return v;
  }

  #number(): number | bigint {
    NUMBER_RE.lastIndex = this.#pos;
    const m = NUMBER_RE.exec(this.#text);
    if (m === null) this.#fail('expected a value');
    const tok = m[0];
    this.#pos += tok.length;
    const n = Number(tok);
    if (Number.isSafeInteger(n) || Math.abs(n) <= MAX_SAFE) return n;
    // An integer token beyond 2^53-1 is kept exact; fractions and exponents stay doubles.
    for (let i = 0; i < tok.length; i++) {
      const ch = tok.charCodeAt(i);
      if (ch === 0x2e || ch === 0x65 || ch === 0x45) return n;
    }
    return BigInt(tok);
  }

  #string(): string {
    const t = this.#text;
    const start = this.#pos;
    let p = start + 1;
    let simple = true;
    for (;;) {
      const q = t.indexOf('"', p);
      if (q === -1) this.#fail('unterminated string');
      let bs = 0;
      for (let k = q - 1; k > start && t.charCodeAt(k) === 0x5c; k--) bs++;
      if (bs > 0) simple = false;
      if (bs % 2 === 0) {
        this.#pos = q + 1;
        if (simple && t.indexOf('\\', start) === -1) return t.slice(start + 1, q);
        try {
          return JSON.parse(t.slice(start, q + 1)) as string;
        } catch {
          this.#pos = start;
          return this.#fail('bad string');
        }
      }
      p = q + 1;
    }
  }

  #array(depth: number): JsonValue[] {
    if (depth > this.#maxDepth) this.#depthError();
    this.#pos++;
    const out: JsonValue[] = [];
    this.#ws();
    if (this.#text.charCodeAt(this.#pos) === 0x5d) {
      this.#pos++;
      return out;
    }
    for (;;) {
      this.#ws();
      out.push(this.#value(depth));
      this.#ws();
      const c = this.#text.charCodeAt(this.#pos++);
      if (c === 0x5d) return out;
      if (c !== 0x2c) {
        this.#pos--;
        this.#fail("expected ',' or ']'");
      }
    }
  }

  #object(depth: number): JsonObject {
    if (depth > this.#maxDepth) this.#depthError();
    this.#pos++;
    const out: JsonObject = {};
    this.#ws();
    if (this.#text.charCodeAt(this.#pos) === 0x7d) {
      this.#pos++;
      return out;
    }
    for (;;) {
      this.#ws();
      if (this.#text.charCodeAt(this.#pos) !== 0x22) this.#fail('expected a member name');
      const key = this.#string();
      this.#ws();
      if (this.#text.charCodeAt(this.#pos++) !== 0x3a) {
        this.#pos--;
        this.#fail("expected ':'");
      }
      this.#ws();
      const v = this.#value(depth);
      // defineProperty keeps a member called __proto__ an ordinary member, as JSON.parse does.
      Object.defineProperty(out, key, { value: v, writable: true, enumerable: true, configurable: true });
      this.#ws();
      const c = this.#text.charCodeAt(this.#pos++);
      if (c === 0x7d) return out;
      if (c !== 0x2c) {
        this.#pos--;
        this.#fail("expected ',' or '}'");
      }
    }
  }

  #depthError(): never {
    throw new QmpLimitError(
      `JSON nesting deeper than ${this.#maxDepth} levels (raise the maxDepth option)`,
      'maxDepth',
      this.#maxDepth,
    );
  }
}

/** Decodes with the lossless parser only (no fast path). */
export function decodeJsonLossless(text: string, maxDepth: number = MAX_NESTING_DEPTH): JsonValue {
  return new LosslessParser(text, maxDepth).parse();
}

/**
 * Decodes one JSON text exactly: integers beyond ±(2^53−1) become `bigint`, QEMU's `inf`/`nan`
 * tokens become numbers. Throws `QmpProtocolError` (`QMP_ERR_JSON`) for invalid JSON and
 * `QmpLimitError` past `maxDepth`.
 */
export function decodeJson(input: string | Uint8Array, options: JsonDecodeOptions = {}): JsonValue {
  const text =
    typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('utf8');
  return decodeJsonLossless(text, options.maxDepth ?? MAX_NESTING_DEPTH);
}
