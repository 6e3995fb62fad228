import { isAscii } from 'node:buffer';

/**
 * Thrown for input QEMU's parser refuses; `message` is QEMU's text after "JSON parse error, ".
 * Not an `Error`: hostile input makes many of these, and none needs a stack trace.
 */
export class QemuParseError {
  readonly message: string;
  constructor(message: string) {
    this.message = message;
  }
}

/** Code units decoded before they are turned into a string piece: bounds the scratch memory of a huge string. */
const PIECE_UNITS = 32 * 1024;

const utf16 = new TextDecoder('utf-16le');

function isNoncharacter(cp: number): boolean {
  return (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe;
}

/**
 * One code point of QEMU's "modified UTF-8" at `b[i]`, by QEMU's own rules: C0 80 is U+0000; other
 * overlong forms, surrogates, noncharacters (U+FDD0..U+FDEF, U+xFFFE/U+xFFFF), values past U+10FFFF
 * and the bytes FE/FF are invalid. An invalid sequence consumes its lead byte and the continuation
 * bytes that follow it, as far as the sequence's length goes. Returns the code point (-1: invalid)
 * and writes the bytes consumed to `used[0]`.
 */
export function modUtf8(b: Uint8Array, i: number, end: number, used: Int32Array): number {
  const c = b[i] as number;
  if (c < 0x80) {
    used[0] = 1;
    return c;
  }
  if (c >= 0xfe || (c & 0x40) === 0) {
    used[0] = 1;
    return -1;
  }
  let len = 0;
  let mask = 0x80;
  for (; c & mask; mask >>= 1) len++;
  let cp = c & (mask - 1);
  let p = i + 1;
  for (let k = 1; k < len; k++) {
    const d = p < end ? (b[p] as number) : 0;
    if ((d & 0xc0) !== 0x80) {
      used[0] = p - i;
      return -1;
    }
    p++;
    cp = cp * 64 + (d & 0x3f);
  }
  used[0] = p - i;
  if (cp > 0x10ffff) return -1;
  if (isNoncharacter(cp)) return -1;
  if (cp >= 0xd800 && cp <= 0xdfff) return -1;
  const min = len === 2 ? 0x80 : len === 3 ? 0x800 : len === 4 ? 0x10000 : len === 5 ? 0x200000 : 0x4000000;
  if (cp < min && !(cp === 0 && len === 2)) return -1;
  return cp;
}

/**
 * Builds a string from code units in fixed-size pieces, so a huge string costs its own size and a
 * small scratch buffer, not a string object per character.
 */
class StringBuilder {
  readonly #units: Uint16Array;
  #n = 0;
  #text = '';

  /** `maxUnits`: an upper bound of the code units to come (the scratch buffer is no bigger). */
  constructor(maxUnits: number) {
    this.#units = new Uint16Array(Math.min(maxUnits, PIECE_UNITS));
  }

  unit(u: number): void {
    if (this.#n === this.#units.length) this.#flush();
    this.#units[this.#n++] = u;
  }

  codePoint(cp: number): void {
    if (cp < 0x10000) this.unit(cp);
    else {
      this.unit(0xd800 + ((cp - 0x10000) >> 10));
      this.unit(0xdc00 + ((cp - 0x10000) & 0x3ff));
    }
  }

  #flush(): void {
    this.#text += utf16.decode(this.#units.subarray(0, this.#n));
    this.#n = 0;
  }

  done(): string {
    if (this.#n > 0) this.#flush();
    return this.#text;
  }
}

/**
 * A lexer token's bytes as QEMU shows them in an error text: QEMU prints the token as a C string (cut
 * at a NUL byte) through its JSON writer, which reads modified UTF-8 (C0 80 is U+0000, each invalid
 * sequence one U+FFFD).
 */
export function qemuTokenText(b: Uint8Array, start: number, end: number): string {
  const nul = b.subarray(start, end).indexOf(0);
  const stop = nul === -1 ? end : start + nul;
  if (isAscii(b.subarray(start, stop)))
    return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1', start, stop);
  const out = new StringBuilder(stop - start + 1);
  const used = new Int32Array(1);
  for (let i = start; i < stop; i += used[0] as number) {
    const cp = modUtf8(b, i, stop, used);
    out.codePoint(cp < 0 ? 0xfffd : cp);
  }
  return out.done();
}

function hex4(b: Uint8Array, i: number, end: number): number {
  let v = 0;
  for (let k = 0; k < 4; k++) {
    if (i + k >= end) return -1;
    const c = b[i + k] as number;
    const d =
      c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x41 && c <= 0x46 ? c - 0x37 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
    if (d < 0) return -1;
    v = (v << 4) | d;
  }
  return v;
}

/** Strings up to this many bytes are checked for escapes and non-ASCII bytes by a plain loop. */
const SHORT_STRING = 32;

const ESCAPES: Record<number, number> = {
  34: 0x22,
  39: 0x27,
  92: 0x5c,
  47: 0x2f,
  98: 0x08,
  102: 0x0c,
  110: 0x0a,
  114: 0x0d,
  116: 0x09,
};

/**
 * Unescapes the string token `b[start, end)` (quotes included) exactly as QEMU's parser does, its
 * error texts included. A plain ASCII string, the common case and the shape of a flood, is sliced in
 * one step.
 * @throws QemuParseError
 */
export function parseQemuString(b: Buffer, start: number, end: number): string {
  const s = start + 1;
  const e = end - 1;
  if (e - s <= SHORT_STRING) {
    // Keys and command names: checked in place, without a view object.
    let plain = true;
    for (let k = s; k < e; k++) {
      const c = b[k] as number;
      if (c === 0x5c || c >= 0x80) {
        plain = false;
        break;
      }
    }
    if (plain) return b.toString('latin1', s, e);
  } else {
    const inner = b.subarray(s, e);
    if (inner.indexOf(0x5c) === -1 && isAscii(inner)) return b.toString('latin1', s, e);
  }
  const out = new StringBuilder(e - s + 1);
  const used = new Int32Array(1);
  let i = s;
  while (i < e) {
    const c = b[i] as number;
    if (c !== 0x5c) {
      const cp = modUtf8(b, i, e, used);
      if (cp < 0) throw new QemuParseError('invalid UTF-8 sequence in string');
      out.codePoint(cp);
      i += used[0] as number;
      continue;
    }
    const beg = i;
    const x = b[i + 1] as number;
    i += 2;
    const simple = ESCAPES[x];
    if (simple !== undefined) {
      out.unit(simple);
      continue;
    }
    if (x !== 0x75) throw new QemuParseError('invalid escape sequence in string');
    let cp = hex4(b, i, end);
    i += 4;
    if (cp >= 0xd800 && cp <= 0xdbff && b[i] === 0x5c && b[i + 1] === 0x75) {
      const trail = hex4(b, i + 2, end);
      if (trail >= 0xdc00 && trail <= 0xdfff) {
        cp = 0x10000 + ((cp & 0x3ff) << 10) + (trail & 0x3ff);
        i += 6;
      } else cp = -1;
    }
    if (cp < 0 || (cp >= 0xd800 && cp <= 0xdfff) || isNoncharacter(cp)) {
      throw new QemuParseError(`${qemuTokenText(b, beg, Math.min(i, end))} is not a valid Unicode character`);
    }
    out.codePoint(cp);
  }
  return out.done();
}
