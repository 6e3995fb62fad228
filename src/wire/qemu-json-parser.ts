import { MAX_DEPTH, MAX_TOKEN_BYTES, MAX_TOKENS } from '../limits.js';
import { QNum, type QValue } from './q-value.js';
import { QemuParseError, qemuTokenText } from './qemu-json-string.js';
import {
  QemuTokenList,
  QemuTokenParser,
  T_COLON,
  T_COMMA,
  T_FLOAT,
  T_INTEGER,
  T_KEYWORD,
  T_LCURLY,
  T_LSQUARE,
  T_RCURLY,
  T_RSQUARE,
  T_STRING,
} from './qemu-json-tokens.js';

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

/** Token type of each structural byte, 0 for the others. */
const STRUCTURAL = new Uint8Array(256);
STRUCTURAL[0x7b] = T_LCURLY;
STRUCTURAL[0x7d] = T_RCURLY;
STRUCTURAL[0x5b] = T_LSQUARE;
STRUCTURAL[0x5d] = T_RSQUARE;
STRUCTURAL[0x3a] = T_COLON;
STRUCTURAL[0x2c] = T_COMMA;

/** Integers parsed to one shared QNum each: 0 up to this (exclusive). */
const SMALL_INTS = 256;

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/**
 * QEMU's JSON input pipeline, reproduced: a lexer (single-quoted strings, QEMU's stray-token errors
 * and recovery), a streamer (a message ends when its brackets balance or go below zero; limits on
 * token bytes, token count and nesting, after which the rest is lexed as new input) and a parser
 * (QEMU's error texts, int64/uint64/double numbers, modified UTF-8). Feed any chunks.
 *
 * Memory: a message in progress is held as its token bytes plus 9 bytes per token, within QEMU's
 * limits, and dropped as soon as a limit is passed; a string costs its bytes once more as a value.
 * Big buffers are let go after each message.
 */
export class QemuJsonParser {
  readonly #maxTokenBytes: number;
  readonly #maxTokens: number;
  readonly #maxDepth: number;
  readonly #tokens: QemuTokenList;
  readonly #smallInts: QNum[] = [];
  #state = START;
  /** Where the token being lexed starts in the token list's bytes. */
  #tokStart = 0;
  /** Bytes of the token being lexed (structural tokens are counted but not stored). */
  #tokLen = 0;
  #tokenBytes = 0;
  #braces = 0;
  #brackets = 0;
  #out: QemuParseItem[] = [];

  constructor(options: QemuJsonParserOptions = {}) {
    this.#maxTokenBytes = options.maxTokenBytes ?? MAX_TOKEN_BYTES;
    this.#maxTokens = options.maxTokens ?? MAX_TOKENS;
    this.#maxDepth = options.maxDepth ?? MAX_DEPTH;
    this.#tokens = new QemuTokenList(this.#maxTokenBytes, this.#maxTokens);
  }

  /** Drops everything half-parsed (a new connection). */
  reset(): void {
    this.#state = START;
    this.#resetMessage();
  }

  /** Feeds bytes; returns every message or error they complete, in order. */
  push(chunk: Uint8Array): QemuParseItem[] {
    this.#out = [];
    const len = chunk.length;
    let i = 0;
    while (i < len) {
      const s = this.#state;
      if (s === DQ || s === SQ) i = this.#stringRun(chunk, i, s === DQ ? 0x22 : 0x27);
      else if (s === RECOVERY) i = this.#recover(chunk, i);
      else this.#feed(chunk[i++] as number);
    }
    return this.#out;
  }

  /**
   * Inside a string: takes the bytes up to the next quote, backslash or byte the lexer refuses in one
   * copy, and the byte that ends the run one at a time. Cuts the token where QEMU does when it grows
   * past the size limit.
   */
  #stringRun(b: Uint8Array, i: number, quote: number): number {
    let j = i;
    const len = b.length;
    for (; j < len; j++) {
      const c = b[j] as number;
      if (c === quote || c === 0x5c || c < 0x20 || c > 0xfd) break;
    }
    if (j > i) {
      const room = Math.max(this.#maxTokenBytes - this.#tokLen, 0) + 1;
      if (j - i >= room) j = i + room;
      this.#append(b, i, j);
      if (this.#tokLen > this.#maxTokenBytes) {
        this.#tokenTooBig();
        return j;
      }
    }
    if (j < len) this.#feed(b[j++] as number);
    return j;
  }

  /** Skips to a structural byte, a control byte other than TAB, or FE/FF; that byte is lexed again. */
  #recover(b: Uint8Array, i: number): number {
    const len = b.length;
    for (; i < len; i++) {
      const c = b[i] as number;
      if (STRUCTURAL[c] !== 0 || (c < 0x20 && c !== 0x09) || c >= 0xfe) {
        this.#state = START;
        return i;
      }
    }
    return i;
  }

  #append(b: Uint8Array, from: number, to: number): void {
    this.#tokens.appendBytes(b, from, to);
    this.#tokLen += to - from;
  }

  #add(c: number): void {
    this.#tokens.appendByte(c);
    this.#tokLen++;
  }

  #begin(c: number, state: number): void {
    this.#tokStart = this.#tokens.used;
    this.#tokLen = 0;
    this.#add(c);
    this.#state = state;
  }

  #feed(c: number): void {
    for (;;) {
      const s = this.#state;
      switch (s) {
        case START: {
          if (c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a) return;
          const st = STRUCTURAL[c] as number;
          if (st !== 0) {
            this.#tokLen = 1;
            this.#emit(st);
            return;
          }
          const next =
            c === 0x22
              ? DQ
              : c === 0x27
                ? SQ
                : c === 0x30
                  ? ZERO
                  : c >= 0x31 && c <= 0x39
                    ? DIGITS
                    : c === 0x2d
                      ? NEG
                      : c >= 0x61 && c <= 0x7a
                        ? KEYWORD
                        : -1;
          this.#begin(c, next);
          if (next === -1) this.#lexError();
          else this.#checkTokenSize();
          return;
        }
        case RECOVERY:
          if (STRUCTURAL[c] === 0 && !(c < 0x20 && c !== 0x09) && c < 0xfe) return;
          this.#state = START;
          continue;
        case DQ:
        case SQ:
          this.#add(c);
          if (c === (s === DQ ? 0x22 : 0x27)) this.#emit(T_STRING);
          else if (c === 0x5c) this.#state = s === DQ ? DQ_ESC : SQ_ESC;
          else if (c < 0x20 || c > 0xfd) this.#lexError();
          else this.#checkTokenSize();
          return;
        case DQ_ESC:
        case SQ_ESC:
          this.#add(c);
          if (c < 0x20 || c > 0xfd) this.#lexError();
          else this.#state = s === DQ_ESC ? DQ : SQ;
          return;
        case ZERO:
        case DIGITS:
        case FRAC:
        case EXP_DIGITS: {
          if (isDigit(c) && s !== ZERO) {
            this.#add(c);
            this.#checkTokenSize();
            return;
          }
          // QEMU takes no exponent right after a lone 0: `0e5` is the integer 0, then the keyword `e5`.
          if (
            (c === 0x2e && (s === ZERO || s === DIGITS)) ||
            ((c === 0x65 || c === 0x45) && (s === DIGITS || s === FRAC))
          ) {
            this.#add(c);
            this.#state = c === 0x2e ? DOT : EXP;
            return;
          }
          if (!(s === ZERO && isDigit(c))) {
            // Any other byte (non-ASCII too) ends the number and is lexed again.
            this.#emit(s === ZERO || s === DIGITS ? T_INTEGER : T_FLOAT);
            continue;
          }
          this.#add(c);
          this.#lexError();
          return;
        }
        case NEG:
          this.#add(c);
          if (c === 0x30) this.#state = ZERO;
          else if (c >= 0x31 && c <= 0x39) this.#state = DIGITS;
          else this.#lexError();
          return;
        case DOT:
        case EXP_SIGN:
          this.#add(c);
          if (isDigit(c)) this.#state = s === DOT ? FRAC : EXP_DIGITS;
          else this.#lexError();
          return;
        case EXP:
          this.#add(c);
          if (isDigit(c)) this.#state = EXP_DIGITS;
          else if (c === 0x2b || c === 0x2d) this.#state = EXP_SIGN;
          else this.#lexError();
          return;
        default:
          // KEYWORD: any byte but a-z (non-ASCII too) ends it and is lexed again.
          if (c >= 0x61 && c <= 0x7a) {
            this.#add(c);
            this.#checkTokenSize();
            return;
          }
          this.#emit(T_KEYWORD);
          continue;
      }
    }
  }

  /** QEMU cuts a token that grows past the size limit and hands it on; the streamer then refuses it. */
  #checkTokenSize(): void {
    if (this.#tokLen > this.#maxTokenBytes) this.#tokenTooBig();
  }

  #tokenTooBig(): void {
    this.#state = START;
    this.#fail('JSON token size limit exceeded');
  }

  #lexError(): void {
    const t = this.#tokens;
    const text = qemuTokenText(t.bytes, this.#tokStart, this.#tokStart + this.#tokLen);
    this.#state = RECOVERY;
    this.#fail(`JSON parse error, stray '${text}'`);
  }

  #resetMessage(): void {
    this.#tokens.clear();
    this.#tokStart = 0;
    this.#tokLen = 0;
    this.#tokenBytes = 0;
    this.#braces = 0;
    this.#brackets = 0;
  }

  #fail(desc: string): void {
    this.#resetMessage();
    this.#out.push({ error: desc });
  }

  /** The streamer: collects tokens until the brackets balance (or go below zero), then parses. */
  #emit(type: number): void {
    const len = this.#tokLen;
    const start = this.#tokStart;
    this.#state = START;
    this.#tokLen = 0;
    if (type === T_LCURLY) this.#braces++;
    else if (type === T_RCURLY) this.#braces--;
    else if (type === T_LSQUARE) this.#brackets++;
    else if (type === T_RSQUARE) this.#brackets--;
    const t = this.#tokens;
    const limit =
      this.#tokenBytes + len + 1 > this.#maxTokenBytes
        ? 'JSON token size limit exceeded'
        : t.count + 1 > this.#maxTokens
          ? 'JSON token count limit exceeded'
          : this.#braces + this.#brackets > this.#maxDepth
            ? 'JSON nesting depth limit exceeded'
            : undefined;
    if (limit !== undefined) {
      // QEMU does not skip the rest of the message: it is lexed as new input.
      this.#fail(limit);
      return;
    }
    t.push(type, start, type <= T_COMMA ? start : start + len);
    this.#tokenBytes += len;
    if ((this.#braces > 0 || this.#brackets > 0) && this.#braces >= 0 && this.#brackets >= 0) return;
    this.#braces = 0;
    this.#brackets = 0;
    this.#tokenBytes = 0;
    try {
      this.#out.push({ value: new QemuTokenParser(t, this.#ints()).parse() });
    } catch (err) {
      if (!(err instanceof QemuParseError)) throw err;
      this.#out.push({ error: `JSON parse error, ${err.message}` });
    } finally {
      t.clear();
    }
  }

  #ints(): QNum[] {
    const a = this.#smallInts;
    if (a.length === 0) for (let n = 0; n < SMALL_INTS; n++) a.push(new QNum('int', BigInt(n)));
    return a;
  }
}
