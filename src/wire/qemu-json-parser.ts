import { MAX_NESTING_DEPTH, MAX_TOKEN_BYTES, MAX_TOKEN_COUNT } from '../limits.js';
import { QNum, type QValue } from './q-value.js';

/** Options of {@link QemuJsonParser}: QEMU's per-message lexer limits. */
export interface QemuJsonParserOptions {
  /** Bytes of all tokens of one message (QEMU: 64 MiB). */
  maxTokenBytes?: number;
  /** Tokens in one message (QEMU: 2 Mi). */
  maxTokens?: number;
  /** `{`/`[` nesting (QEMU: 1024). */
  maxDepth?: number;
}

/** One parsed message, or QEMU's error text for input that was not one. */
export type QemuParseItem = { value: QValue } | { error: string };

// Lexer states (QEMU's json-lexer.c, re-derived from its documented behaviour).
const START = 0;
const RECOVERY = 1;
const DQ = 2;
const DQ_ESC = 3;
const SQ = 4;
const SQ_ESC = 5;
const ZERO = 6;
const DIGITS = 7;
const NEG = 8;
const DOT = 9;
const FRAC = 10;
const EXP = 11;
const EXP_SIGN = 12;
const EXP_DIGITS = 13;
const KEYWORD = 14;

type TokenType =
  | 'lcurly'
  | 'rcurly'
  | 'lsquare'
  | 'rsquare'
  | 'colon'
  | 'comma'
  | 'string'
  | 'integer'
  | 'float'
  | 'keyword';

interface Token {
  type: TokenType;
  text: string;
  /** Raw bytes of a string token (for QEMU's UTF-8 checks). */
  bytes?: Uint8Array;
}

const STRUCTURAL: Record<number, TokenType> = {
  123: 'lcurly',
  125: 'rcurly',
  91: 'lsquare',
  93: 'rsquare',
  58: 'colon',
  44: 'comma',
};

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Token text for an error message: cut at a NUL (QEMU's C string), invalid UTF-8 as U+FFFD. */
function errorText(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  return utf8.decode(nul === -1 ? bytes : bytes.subarray(0, nul));
}

class ParseError extends Error {}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/**
 * Decodes one code point of QEMU's "modified UTF-8" at `i`: C0 80 is U+0000; other overlong forms,
 * surrogates, values past U+10FFFF and FE/FF are invalid. Returns [codepoint, length] or undefined.
 */
function modUtf8(b: Uint8Array, i: number, end: number): [number, number] | undefined {
  const c = b[i]!;
  if (c < 0x80) return [c, 1];
  let n: number;
  let cp: number;
  let min: number;
  if (c >= 0xc0 && c <= 0xdf) {
    n = 2;
    cp = c & 0x1f;
    min = 0x80;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    cp = c & 0x0f;
    min = 0x800;
  } else if (c >= 0xf0 && c <= 0xf7) {
    n = 4;
    cp = c & 0x07;
    min = 0x10000;
  } else return undefined;
  if (i + n > end) return undefined;
  for (let k = 1; k < n; k++) {
    const d = b[i + k]!;
    if ((d & 0xc0) !== 0x80) return undefined;
    cp = (cp << 6) | (d & 0x3f);
  }
  if (cp < min) return n === 2 && cp === 0 ? [0, 2] : undefined;
  if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return undefined;
  return [cp, n];
}

function hex4(b: Uint8Array, i: number, end: number): number {
  let v = 0;
  for (let k = 0; k < 4; k++) {
    if (i + k >= end) return -1;
    const c = b[i + k]!;
    const d =
      c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x41 && c <= 0x46 ? c - 0x37 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
    if (d < 0) return -1;
    v = (v << 4) | d;
  }
  return v;
}

/** Unescapes a string token exactly as QEMU's parser does (its error texts included). */
function parseString(b: Uint8Array): string {
  const quote = b[0]!;
  const end = b.length - 1;
  let out = '';
  let i = 1;
  while (i < end) {
    const c = b[i]!;
    if (c === quote) break;
    if (c === 0x5c) {
      const beg = i;
      const e = b[i + 1];
      i += 2;
      switch (e) {
        case 0x22:
          out += '"';
          break;
        case 0x27:
          out += "'";
          break;
        case 0x5c:
          out += '\\';
          break;
        case 0x2f:
          out += '/';
          break;
        case 0x62:
          out += '\b';
          break;
        case 0x66:
          out += '\f';
          break;
        case 0x6e:
          out += '\n';
          break;
        case 0x72:
          out += '\r';
          break;
        case 0x74:
          out += '\t';
          break;
        case 0x75: {
          let cp = hex4(b, i, b.length);
          i += 4;
          if (cp >= 0xd800 && cp <= 0xdbff && b[i] === 0x5c && b[i + 1] === 0x75) {
            const trail = hex4(b, i + 2, b.length);
            if (trail >= 0xdc00 && trail <= 0xdfff) {
              cp = 0x10000 + ((cp & 0x3ff) << 10) + (trail & 0x3ff);
              i += 6;
            } else cp = -1;
          }
          if (cp < 0 || (cp >= 0xd800 && cp <= 0xdfff)) {
            throw new ParseError(
              `${latin1.decode(b.subarray(beg, Math.min(i, b.length)))} is not a valid Unicode character`,
            );
          }
          out += String.fromCodePoint(cp);
          break;
        }
        default:
          throw new ParseError('invalid escape sequence in string');
      }
      continue;
    }
    const r = modUtf8(b, i, end);
    if (r === undefined) throw new ParseError('invalid UTF-8 sequence in string');
    out += String.fromCodePoint(r[0]);
    i += r[1];
  }
  return out;
}

function parseNumber(t: Token): QNum {
  if (t.type === 'integer') {
    const v = BigInt(t.text);
    if (v >= INT64_MIN && v <= INT64_MAX) return new QNum('int', v);
    if (v >= 0n && v <= UINT64_MAX) return new QNum('uint', v);
  }
  return new QNum('double', Number(t.text));
}

/** QEMU's parser over one message's tokens. The first error wins, as in QEMU. */
class TokenParser {
  readonly #t: Token[];
  #i = 0;

  constructor(tokens: Token[]) {
    this.#t = tokens;
  }

  parse(): QValue {
    return this.#value();
  }

  #peek(): Token {
    const t = this.#t[this.#i];
    if (!t) throw new ParseError('premature EOI');
    return t;
  }

  #pop(): Token {
    const t = this.#peek();
    this.#i++;
    return t;
  }

  #value(): QValue {
    const t = this.#peek();
    switch (t.type) {
      case 'lcurly':
        return this.#object();
      case 'lsquare':
        return this.#array();
      case 'string':
        this.#i++;
        return parseString(t.bytes ?? new Uint8Array());
      case 'integer':
      case 'float':
        this.#i++;
        return parseNumber(t);
      case 'keyword':
        this.#i++;
        if (t.text === 'true') return true;
        if (t.text === 'false') return false;
        if (t.text === 'null') return null;
        throw new ParseError(`invalid keyword '${t.text}'`);
      default:
        throw new ParseError('expecting value');
    }
  }

  #pair(dict: Map<string, QValue>): void {
    this.#peek();
    const key = this.#value();
    if (typeof key !== 'string') throw new ParseError('key is not a string in object');
    if (this.#pop().type !== 'colon') throw new ParseError('missing : in object pair');
    const value = this.#value();
    if (dict.has(key)) throw new ParseError('duplicate key');
    dict.set(key, value);
  }

  #object(): Map<string, QValue> {
    this.#i++;
    const dict = new Map<string, QValue>();
    if (this.#peek().type === 'rcurly') {
      this.#i++;
      return dict;
    }
    this.#pair(dict);
    for (let t = this.#pop(); t.type !== 'rcurly'; t = this.#pop()) {
      if (t.type !== 'comma') throw new ParseError('expected separator in dict');
      this.#pair(dict);
    }
    return dict;
  }

  #array(): QValue[] {
    this.#i++;
    const list: QValue[] = [];
    if (this.#peek().type === 'rsquare') {
      this.#i++;
      return list;
    }
    list.push(this.#value());
    for (let t = this.#pop(); t.type !== 'rsquare'; t = this.#pop()) {
      if (t.type !== 'comma') throw new ParseError('expected separator in list');
      list.push(this.#value());
    }
    return list;
  }
}

/**
 * QEMU's JSON input pipeline, reproduced: a lexer (single-quoted strings, QEMU's stray-token errors
 * and recovery), a streamer (a message ends when its brackets balance or go below zero; limits on
 * token bytes, token count and nesting, after which the rest is lexed as new input) and a parser
 * (QEMU's error texts, int64/uint64/double numbers, modified UTF-8). Feed any chunks.
 */
export class QemuJsonParser {
  readonly #maxTokenBytes: number;
  readonly #maxTokens: number;
  readonly #maxDepth: number;
  #state = START;
  #tok = new Uint8Array(64);
  #tokLen = 0;
  #tokens: Token[] = [];
  #tokenBytes = 0;
  #braces = 0;
  #brackets = 0;
  #out: QemuParseItem[] = [];

  constructor(options: QemuJsonParserOptions = {}) {
    this.#maxTokenBytes = options.maxTokenBytes ?? MAX_TOKEN_BYTES;
    this.#maxTokens = options.maxTokens ?? MAX_TOKEN_COUNT;
    this.#maxDepth = options.maxDepth ?? MAX_NESTING_DEPTH;
  }

  /** Drops everything half-parsed (a new connection). */
  reset(): void {
    this.#state = START;
    this.#tokLen = 0;
    this.#resetMessage();
  }

  /** Feeds bytes; returns every message or error they complete, in order. */
  push(chunk: Uint8Array): QemuParseItem[] {
    this.#out = [];
    for (let i = 0; i < chunk.length; i++) this.#feed(chunk[i]!);
    return this.#out;
  }

  #append(c: number): void {
    if (this.#tokLen === this.#tok.length) {
      const bigger = new Uint8Array(this.#tok.length * 2);
      bigger.set(this.#tok);
      this.#tok = bigger;
    }
    this.#tok[this.#tokLen++] = c;
  }

  #tokenText(): string {
    return latin1.decode(this.#tok.subarray(0, this.#tokLen));
  }

  #feed(c: number): void {
    for (;;) {
      const s = this.#state;
      switch (s) {
        case START: {
          if (c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a) return;
          const st = STRUCTURAL[c];
          if (st !== undefined) {
            this.#append(c);
            this.#emit(st);
            return;
          }
          this.#append(c);
          if (c === 0x22) this.#state = DQ;
          else if (c === 0x27) this.#state = SQ;
          else if (c === 0x30) this.#state = ZERO;
          else if (c >= 0x31 && c <= 0x39) this.#state = DIGITS;
          else if (c === 0x2d) this.#state = NEG;
          else if (c >= 0x61 && c <= 0x7a) this.#state = KEYWORD;
          else this.#lexError();
          this.#checkTokenSize();
          return;
        }
        case RECOVERY: {
          // Skip to a structural character, a control character other than TAB, or FE/FF; that
          // byte is then lexed again from the start state.
          const ends = STRUCTURAL[c] !== undefined || (c < 0x20 && c !== 0x09) || c === 0xfe || c === 0xff;
          if (!ends) return;
          this.#state = START;
          continue;
        }
        case DQ:
        case SQ: {
          this.#append(c);
          if (c === (s === DQ ? 0x22 : 0x27)) this.#emit('string');
          else if (c === 0x5c) this.#state = s === DQ ? DQ_ESC : SQ_ESC;
          else if (c < 0x20 || c > 0xfd) this.#lexError();
          else this.#checkTokenSize();
          return;
        }
        case DQ_ESC:
        case SQ_ESC:
          this.#append(c);
          if (c < 0x20 || c > 0xfd) this.#lexError();
          else this.#state = s === DQ_ESC ? DQ : SQ;
          return;
        case ZERO:
        case DIGITS:
        case FRAC:
        case EXP_DIGITS: {
          if (isDigit(c) && s !== ZERO) {
            this.#append(c);
            this.#checkTokenSize();
            return;
          }
          if ((c === 0x2e && (s === ZERO || s === DIGITS)) || ((c === 0x65 || c === 0x45) && s !== EXP_DIGITS)) {
            this.#append(c);
            this.#state = c === 0x2e ? DOT : EXP;
            return;
          }
          if (c < 0x80 && !(s === ZERO && isDigit(c))) {
            // The byte ends the number and is lexed again.
            this.#emit(s === ZERO || s === DIGITS ? 'integer' : 'float');
            continue;
          }
          this.#append(c);
          this.#lexError();
          return;
        }
        case NEG:
          this.#append(c);
          if (c === 0x30) this.#state = ZERO;
          else if (c >= 0x31 && c <= 0x39) this.#state = DIGITS;
          else this.#lexError();
          return;
        case DOT:
        case EXP_SIGN:
          this.#append(c);
          if (isDigit(c)) this.#state = s === DOT ? FRAC : EXP_DIGITS;
          else this.#lexError();
          return;
        case EXP:
          this.#append(c);
          if (isDigit(c)) this.#state = EXP_DIGITS;
          else if (c === 0x2b || c === 0x2d) this.#state = EXP_SIGN;
          else this.#lexError();
          return;
        case KEYWORD:
          if (c >= 0x61 && c <= 0x7a) {
            this.#append(c);
            this.#checkTokenSize();
            return;
          }
          if (c < 0x80) {
            this.#emit('keyword');
            continue;
          }
          this.#append(c);
          this.#lexError();
          return;
        default:
          return;
      }
    }
  }

  /** QEMU cuts a token that grows past the size limit and hands it on; the streamer then refuses it. */
  #checkTokenSize(): void {
    if (this.#tokLen > this.#maxTokenBytes) {
      this.#tokLen = 0;
      this.#state = START;
      this.#fail('JSON token size limit exceeded');
    }
  }

  #lexError(): void {
    const text = errorText(this.#tok.subarray(0, this.#tokLen));
    this.#tokLen = 0;
    this.#state = RECOVERY;
    this.#fail(`JSON parse error, stray '${text}'`);
  }

  #resetMessage(): void {
    this.#tokens = [];
    this.#tokenBytes = 0;
    this.#braces = 0;
    this.#brackets = 0;
  }

  #fail(desc: string): void {
    this.#resetMessage();
    this.#out.push({ error: desc });
  }

  /** The streamer: collects tokens until the brackets balance (or go below zero), then parses. */
  #emit(type: TokenType): void {
    const len = this.#tokLen;
    const token: Token = { type, text: type === 'string' ? '' : this.#tokenText() };
    if (type === 'string') token.bytes = this.#tok.slice(0, len);
    this.#tokLen = 0;
    this.#state = START;
    if (type === 'lcurly') this.#braces++;
    else if (type === 'rcurly') this.#braces--;
    else if (type === 'lsquare') this.#brackets++;
    else if (type === 'rsquare') this.#brackets--;
    const limit =
      this.#tokenBytes + len + 1 > this.#maxTokenBytes
        ? 'JSON token size limit exceeded'
        : this.#tokens.length + 1 > this.#maxTokens
          ? 'JSON token count limit exceeded'
          : this.#braces + this.#brackets > this.#maxDepth
            ? 'JSON nesting depth limit exceeded'
            : undefined;
    if (limit !== undefined) {
      // QEMU does not skip the rest of the message: it is lexed as new input.
      this.#fail(limit);
      return;
    }
    this.#tokens.push(token);
    this.#tokenBytes += len;
    if ((this.#braces > 0 || this.#brackets > 0) && this.#braces >= 0 && this.#brackets >= 0) return;
    const tokens = this.#tokens;
    this.#resetMessage();
    try {
      this.#out.push({ value: new TokenParser(tokens).parse() });
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      this.#out.push({ error: `JSON parse error, ${err.message}` });
    }
  }
}
