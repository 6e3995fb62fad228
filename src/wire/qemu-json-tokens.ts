import { QNum, type QValue } from './q-value.js';
import { parseQemuString, QemuParseError } from './qemu-json-string.js';

// Token types (QEMU's json-lexer.h).
export const T_LCURLY = 1;
export const T_RCURLY = 2;
export const T_LSQUARE = 3;
export const T_RSQUARE = 4;
export const T_COLON = 5;
export const T_COMMA = 6;
export const T_STRING = 7;
export const T_INTEGER = 8;
export const T_FLOAT = 9;
export const T_KEYWORD = 10;

/** A token list or byte store this small is kept for the next message; a bigger one is let go. */
const KEPT_TOKENS = 4096;
const KEPT_BYTES = 64 * 1024;

/** Runs of bytes up to this long are copied byte by byte rather than through a subarray view. */
const SHORT_RUN = 32;

/** Integers this short always fit int64 (19 digits and a sign do not). */
const SHORT_INT_CHARS = 18;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/**
 * One message's tokens, held as numbers in typed arrays and the bytes of its strings, numbers and
 * keywords in one growing buffer: a token costs 9 bytes plus its own bytes, never an object.
 * Both grow by doubling but never past their caps (the streamer's limits), so an oversized message
 * costs at most about twice the bytes it may hold.
 */
export class QemuTokenList {
  readonly #maxBytes: number;
  readonly #maxTokens: number;
  types = new Uint8Array(64);
  starts = new Int32Array(64);
  ends = new Int32Array(64);
  count = 0;
  bytes = Buffer.allocUnsafe(1024);
  used = 0;

  constructor(maxBytes: number, maxTokens: number) {
    this.#maxBytes = maxBytes;
    this.#maxTokens = maxTokens;
  }

  /** Makes room for `n` more bytes. */
  reserve(n: number): void {
    const need = this.used + n;
    if (need <= this.bytes.length) return;
    const size = Math.max(need, Math.min(this.bytes.length * 2, this.#maxBytes + 16));
    const grown = Buffer.allocUnsafe(size);
    this.bytes.copy(grown, 0, 0, this.used);
    this.bytes = grown;
  }

  appendByte(c: number): void {
    if (this.used === this.bytes.length) this.reserve(1);
    this.bytes[this.used++] = c;
  }

  appendBytes(src: Uint8Array, from: number, to: number): void {
    this.reserve(to - from);
    if (to - from <= SHORT_RUN) {
      // A short run (a key, a command name) is copied by hand: no view object per string.
      const bytes = this.bytes;
      let u = this.used;
      for (let k = from; k < to; k++) bytes[u++] = src[k] as number;
      this.used = u;
      return;
    }
    this.bytes.set(src.subarray(from, to), this.used);
    this.used += to - from;
  }

  push(type: number, start: number, end: number): void {
    const n = this.count;
    if (n === this.types.length) {
      const size = Math.min(n * 2, this.#maxTokens + 1);
      const t = new Uint8Array(size);
      t.set(this.types);
      this.types = t;
      const s = new Int32Array(size);
      s.set(this.starts);
      this.starts = s;
      const e = new Int32Array(size);
      e.set(this.ends);
      this.ends = e;
    }
    this.types[n] = type;
    this.starts[n] = start;
    this.ends[n] = end;
    this.count = n + 1;
  }

  /** Empties the list; lets big buffers go so a flood's memory is returned. */
  clear(): void {
    this.count = 0;
    this.used = 0;
    if (this.types.length > KEPT_TOKENS) {
      this.types = new Uint8Array(64);
      this.starts = new Int32Array(64);
      this.ends = new Int32Array(64);
    }
    if (this.bytes.length > KEPT_BYTES) this.bytes = Buffer.allocUnsafe(1024);
  }
}

/** QEMU's parser over one message's tokens. The first error wins, as in QEMU. */
export class QemuTokenParser {
  readonly #t: QemuTokenList;
  /** Shared instances for small integers, the bulk of a long list of numbers. */
  readonly #smallInts: QNum[];
  #i = 0;

  constructor(tokens: QemuTokenList, smallInts: QNum[]) {
    this.#t = tokens;
    this.#smallInts = smallInts;
  }

  parse(): QValue {
    return this.#value();
  }

  #peek(): number {
    if (this.#i >= this.#t.count) throw new QemuParseError('premature EOI');
    return this.#t.types[this.#i] as number;
  }

  #pop(): number {
    const t = this.#peek();
    this.#i++;
    return t;
  }

  #text(i: number): string {
    return this.#t.bytes.toString('latin1', this.#t.starts[i], this.#t.ends[i]);
  }

  #value(): QValue {
    const type = this.#peek();
    const i = this.#i;
    switch (type) {
      case T_LCURLY:
        return this.#object();
      case T_LSQUARE:
        return this.#array();
      case T_STRING:
        this.#i++;
        return parseQemuString(this.#t.bytes, this.#t.starts[i] as number, this.#t.ends[i] as number);
      case T_INTEGER:
      case T_FLOAT:
        this.#i++;
        return this.#number(type, i);
      case T_KEYWORD: {
        this.#i++;
        const text = this.#text(i);
        if (text === 'true') return true;
        if (text === 'false') return false;
        if (text === 'null') return null;
        throw new QemuParseError(`invalid keyword '${text}'`);
      }
      default:
        throw new QemuParseError('expecting value');
    }
  }

  #number(type: number, i: number): QNum {
    if (type === T_INTEGER) {
      // A non-negative integer of up to 15 digits (every id a client counts up) is exact as a
      // double: read from the bytes, no text made.
      const start = this.#t.starts[i] as number;
      const end = this.#t.ends[i] as number;
      if (end - start <= 15 && this.#t.bytes[start] !== 0x2d) {
        const b = this.#t.bytes;
        let n = 0;
        for (let k = start; k < end; k++) n = n * 10 + ((b[k] as number) - 0x30);
        if (n < this.#smallInts.length) return this.#smallInts[n] as QNum;
        return new QNum('int', BigInt(n));
      }
    }
    const text = this.#text(i);
    if (type === T_INTEGER) {
      if (text.length <= SHORT_INT_CHARS) {
        const n = Number(text);
        if (n >= 0 && n < this.#smallInts.length) return this.#smallInts[n] as QNum;
        return new QNum('int', BigInt(text));
      }
      // Longer than uint64 can be: a double (and no quadratic BigInt parse of a huge digit string).
      if (text.length <= 21) {
        const v = BigInt(text);
        if (v >= INT64_MIN && v <= INT64_MAX) return new QNum('int', v);
        if (v >= 0n && v <= UINT64_MAX) return new QNum('uint', v);
      }
    }
    return new QNum('double', Number(text));
  }

  #pair(dict: Map<string, QValue>): void {
    this.#peek();
    const key = this.#value();
    if (typeof key !== 'string') throw new QemuParseError('key is not a string in object');
    if (this.#pop() !== T_COLON) throw new QemuParseError('missing : in object pair');
    const value = this.#value();
    if (dict.has(key)) throw new QemuParseError('duplicate key');
    dict.set(key, value);
  }

  #object(): Map<string, QValue> {
    this.#i++;
    const dict = new Map<string, QValue>();
    if (this.#peek() === T_RCURLY) {
      this.#i++;
      return dict;
    }
    this.#pair(dict);
    for (let t = this.#pop(); t !== T_RCURLY; t = this.#pop()) {
      if (t !== T_COMMA) throw new QemuParseError('expected separator in dict');
      this.#pair(dict);
    }
    return dict;
  }

  #array(): QValue[] {
    this.#i++;
    const list: QValue[] = [];
    if (this.#peek() === T_RSQUARE) {
      this.#i++;
      return list;
    }
    list.push(this.#value());
    for (let t = this.#pop(); t !== T_RSQUARE; t = this.#pop()) {
      if (t !== T_COMMA) throw new QemuParseError('expected separator in list');
      list.push(this.#value());
    }
    return list;
  }
}
