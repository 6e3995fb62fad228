import { QmpLimitError, QmpProtocolError } from '../errors/qmp-error.js';
import { MAX_MESSAGE_BYTES, MAX_NESTING_DEPTH } from '../limits.js';
import { decodeJsonLossless } from './json-decoder.js';
import type { JsonValue } from './json-value.js';

/** Options of {@link JsonSplitter}. */
export interface JsonSplitterOptions {
  /** Largest message accepted, in bytes (default {@link MAX_MESSAGE_BYTES}, 10 MiB). */
  maxMessageBytes?: number;
  /** Deepest `{`/`[` nesting accepted (default {@link MAX_NESTING_DEPTH}, 1024). */
  maxDepth?: number;
}

/** One result of {@link JsonSplitter.push}: a whole message, or why one was lost. */
export type JsonSplitItem = { value: JsonValue; bytes: number } | { error: QmpLimitError | QmpProtocolError };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** Digit runs this long may hold an integer beyond 2^53−1 (16 digits); such messages take the lossless path. */
const LONG_DIGIT_RUN = 16;

const LONG_DIGITS_RE = /[0-9]{16}/;

type Utf8SliceBuffer = Buffer & { utf8Slice?: (start: number, end: number) => string };

/**
 * Decodes bytes as UTF-8. `Buffer#utf8Slice` is what `toString('utf8', s, e)` calls after checking its
 * arguments; calling it directly saves about half the cost on small replies, which matters per message.
 */
function utf8(buf: Buffer, s: number, e: number): string {
  const b = buf as Utf8SliceBuffer;
  return typeof b.utf8Slice === 'function' ? b.utf8Slice(s, e) : buf.toString('utf8', s, e);
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** True when `root` nests no deeper than `max` (iterative: deep input cannot overflow the stack). */
function depthWithin(root: JsonValue, max: number): boolean {
  const stack: unknown[] = [root];
  const depths: number[] = [1];
  while (stack.length > 0) {
    const o = stack.pop() as object;
    const d = depths.pop() as number;
    if (d > max) return false;
    if (Array.isArray(o)) {
      for (const x of o) {
        if (x !== null && typeof x === 'object') {
          stack.push(x);
          depths.push(d + 1);
        }
      }
    } else {
      for (const k in o) {
        const x = (o as Record<string, unknown>)[k];
        if (x !== null && typeof x === 'object') {
          stack.push(x);
          depths.push(d + 1);
        }
      }
    }
  }
  return true;
}

type Mode = 'idle' | 'container' | 'scalar' | 'skip';

/**
 * Streaming splitter for QMP's byte stream: feed it any chunks (one byte at a time, many messages in
 * one chunk, messages split anywhere, CRLF, `pretty=on` multi-line output) and it returns every whole
 * message, decoded exactly (big integers as `bigint`).
 *
 * Only the boundary scan touches every byte, and it jumps over string bodies with `indexOf`; a finished
 * message is decoded by `JSON.parse` unless it holds a long digit run or a non-JSON token, which go to
 * the lossless parser. Past a limit the rest of that message is skipped without being buffered, one
 * error item is returned, and splitting resumes at the next message.
 */
export class JsonSplitter {
  readonly #maxBytes: number;
  readonly #maxDepth: number;
  #mode: Mode = 'idle';
  #chunks: Buffer[] = [];
  #bytes = 0;
  #depth = 0;
  #inString = false;
  #escape = false;
  #digitRun = 0;
  #lossless = false;
  /** For a top-level scalar that is a string. */
  #scalarIsString = false;
  /** Fast path on: the peer frames messages by lines (QEMU without pretty=on). */
  #lineMode = true;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** A message came ended by a newline: the peer frames by lines. */
  #sawLine = false;
  /** Scanner state for held bytes, caught up lazily (see #holdTail). */
  #tail: { scanner: JsonSplitter; fed: number } | undefined;
  /** Once the peer proved not to be line-framed: the scanner that owns the stream. */
  #delegate: JsonSplitter | undefined;

  constructor(options: JsonSplitterOptions = {}) {
    this.#maxBytes = options.maxMessageBytes ?? MAX_MESSAGE_BYTES;
    this.#maxDepth = options.maxDepth ?? MAX_NESTING_DEPTH;
  }

  /** Bytes held for an incomplete message. */
  get bufferedBytes(): number {
    if (this.#delegate !== undefined) return this.#delegate.bufferedBytes;
    return this.#pendingBytes + (this.#mode === 'skip' ? 0 : this.#bytes);
  }

  /** Drops any partial message (e.g. for a new connection). */
  reset(): void {
    this.#lineMode = true;
    this.#sawLine = false;
    this.#tail = undefined;
    this.#delegate = undefined;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#mode = 'idle';
    this.#chunks = [];
    this.#bytes = 0;
    this.#depth = 0;
    this.#inString = false;
    this.#escape = false;
    this.#digitRun = 0;
    this.#lossless = false;
  }

  /** Feeds bytes; returns every message (or error) completed by them, in order. */
  push(chunk: Uint8Array): JsonSplitItem[] {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const out: JsonSplitItem[] = [];
    if (this.#delegate !== undefined) {
      this.#delegate.#scanPush(buf, out);
      return out;
    }
    if (!this.#lineMode) {
      this.#scanPush(buf, out);
      return out;
    }
    let from = 0;
    const len = buf.length;
    for (;;) {
      const nl = buf.indexOf(0x0a, from);
      if (nl === -1) break;
      if (this.#pending.length === 0) {
        this.#line(buf, from, nl + 1, out);
      } else {
        this.#pending.push(buf.subarray(from, nl + 1));
        const line = Buffer.concat(this.#pending, this.#pendingBytes + (nl + 1 - from));
        this.#pending = [];
        this.#pendingBytes = 0;
        this.#tail = undefined;
        this.#line(line, 0, line.length, out);
      }
      from = nl + 1;
      if (!this.#lineMode) {
        if (from < len) this.#scanPush(buf.subarray(from), out);
        return out;
      }
    }
    if (from < len) this.#holdTail(buf.subarray(from), out);
    return out;
  }

  /**
   * Keeps bytes not yet ended by a newline. A peer that does not end messages with a newline would
   * wait forever for our reply, so when the held bytes end like a message (`}` or `]`), a scanner
   * catches up on them (each byte is scanned once); if it finds whole messages, the scanner takes
   * over this stream for good.
   */
  #holdTail(rest: Buffer, out: JsonSplitItem[]): void {
    this.#pending.push(rest);
    this.#pendingBytes += rest.length;
    let last = rest.length - 1;
    while (last >= 0 && isSpace(rest[last]!)) last--;
    // Once the peer ended a message with a newline (QEMU ends every message with CRLF), it frames by
    // lines: skip the catch-up, which would rescan big replies that arrive in several chunks.
    const closer = !this.#sawLine && last >= 0 && (rest[last] === 0x7d || rest[last] === 0x5d);
    if (!closer && this.#pendingBytes <= this.#maxBytes) return;
    const tail = (this.#tail ??= {
      scanner: new JsonSplitter({ maxMessageBytes: this.#maxBytes, maxDepth: this.#maxDepth }),
      fed: 0,
    });
    const found: JsonSplitItem[] = [];
    for (let i = tail.fed; i < this.#pending.length; i++) tail.scanner.#scanPush(this.#pending[i]!, found);
    tail.fed = this.#pending.length;
    if (found.length > 0 || this.#pendingBytes > this.#maxBytes) {
      out.push(...found);
      tail.scanner.#lineMode = false;
      this.#delegate = tail.scanner;
      this.#pending = [];
      this.#pendingBytes = 0;
      this.#tail = undefined;
    }
  }

  /**
   * The fast path: QEMU sends one compact message per line, so a line is usually one whole message
   * for `JSON.parse`. Anything else (pretty=on, several messages on a line, bad JSON) goes to the
   * scanner; when the scanner is left holding a partial message the peer is not line-framed and the
   * splitter stays in scanning mode.
   */
  #line(buf: Buffer, s: number, e: number, out: JsonSplitItem[]): void {
    const end = e;
    const start = s;
    while (s < e && isSpace(buf[s]!)) s++;
    while (e > s && isSpace(buf[e - 1]!)) e--;
    if (s === e) return;
    const first = buf[s];
    if (e - s > this.#maxBytes || (first !== 0x7b && first !== 0x5b)) {
      this.#toScanner(buf.subarray(start, end), out);
      return;
    }
    const text = utf8(buf, s, e);
    let value: JsonValue;
    try {
      // An integer beyond 2^53-1 has at least 16 digits; only such messages need the lossless parser.
      value =
        text.length >= 16 && LONG_DIGITS_RE.test(text)
          ? decodeJsonLossless(text, this.#maxDepth)
          : (JSON.parse(text) as JsonValue);
    } catch {
      this.#toScanner(buf.subarray(start, end), out);
      return;
    }
    if (text.length > 2 * this.#maxDepth && !depthWithin(value, this.#maxDepth)) {
      out.push({ error: this.#depthError() });
      return;
    }
    this.#sawLine = true;
    out.push({ value, bytes: e - s });
  }

  #toScanner(line: Buffer, out: JsonSplitItem[]): void {
    this.#scanPush(line, out);
    if (this.#mode !== 'idle') this.#lineMode = false;
  }

  #depthError(): QmpLimitError {
    return new QmpLimitError(
      `A message nested deeper than ${this.#maxDepth} levels was skipped (raise the maxDepth option)`,
      'maxDepth',
      this.#maxDepth,
    );
  }

  /** The byte scanner: exact framing for any input, at the cost of touching every byte. */
  #scanPush(buf: Buffer, out: JsonSplitItem[]): void {
    const len = buf.length;
    let i = 0;
    /** Where the current message starts in this chunk. */
    let start = 0;
    while (i < len) {
      if (this.#mode === 'idle') {
        const c = buf[i]!;
        if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
          i++;
          continue;
        }
        start = i;
        this.#bytes = 0;
        this.#lossless = false;
        this.#digitRun = 0;
        if (c === 0x7b || c === 0x5b) {
          this.#mode = 'container';
          this.#depth = 0;
        } else if (c === 0x7d || c === 0x5d) {
          out.push({
            error: new QmpProtocolError(`Invalid JSON: unexpected '${String.fromCharCode(c)}' between messages`, {
              code: 'QMP_ERR_JSON',
            }),
          });
          i++;
          continue;
        } else {
          this.#mode = 'scalar';
          this.#scalarIsString = c === QUOTE;
          this.#inString = c === QUOTE;
          this.#escape = false;
          i++;
          if (this.#inString) continue;
          // Letters of a bare scalar (true, inf, nan...) or a number: lossless path decides.
          this.#lossless = true;
          continue;
        }
      }
      if (this.#mode === 'scalar') {
        const end = this.#scanScalar(buf, i);
        if (end === -1) {
          this.#hold(buf, start, len, out);
          return;
        }
        this.#finish(buf, start, end, out);
        i = end;
        continue;
      }
      // container or skip
      const end = this.#scanContainer(buf, i, out);
      if (end === -1) {
        if (this.#mode !== 'skip') this.#hold(buf, start, len, out);
        return;
      }
      if (this.#mode === 'skip') {
        this.#mode = 'idle';
        this.#chunks = [];
        this.#bytes = 0;
      } else {
        this.#finish(buf, start, end, out);
      }
      i = end;
    }
  }

  /** Keeps the unfinished tail of a message; enforces maxMessageBytes on it. */
  #hold(buf: Buffer, start: number, end: number, out: JsonSplitItem[]): void {
    if (end <= start) return;
    this.#bytes += end - start;
    if (this.#bytes > this.#maxBytes) {
      this.#tooBig(out);
      return;
    }
    this.#chunks.push(buf.subarray(start, end));
  }

  #tooBig(out: JsonSplitItem[]): void {
    out.push({
      error: new QmpLimitError(
        `A message exceeded ${this.#maxBytes} bytes and was skipped (raise the maxMessageBytes option)`,
        'maxMessageBytes',
        this.#maxBytes,
      ),
    });
    this.#chunks = [];
    if (this.#mode === 'scalar') {
      // A scalar this long has no structure to skip by; drop it whole.
      this.reset();
      return;
    }
    this.#mode = 'skip';
  }

  /** Decodes the message made of the held chunks plus `buf[start, end)`. */
  #finish(buf: Buffer, start: number, end: number, out: JsonSplitItem[]): void {
    const total = this.#bytes + (end - start);
    this.#mode = 'idle';
    if (total > this.#maxBytes) {
      this.#chunks = [];
      this.#bytes = 0;
      out.push({
        error: new QmpLimitError(
          `A message exceeded ${this.#maxBytes} bytes and was skipped (raise the maxMessageBytes option)`,
          'maxMessageBytes',
          this.#maxBytes,
        ),
      });
      return;
    }
    let text: string;
    if (this.#chunks.length === 0) {
      text = buf.toString('utf8', start, end);
    } else {
      this.#chunks.push(buf.subarray(start, end));
      text = Buffer.concat(this.#chunks, total).toString('utf8');
      this.#chunks = [];
    }
    this.#bytes = 0;
    let value: JsonValue;
    try {
      value = this.#lossless ? decodeJsonLossless(text, this.#maxDepth) : (JSON.parse(text) as JsonValue);
    } catch (err) {
      try {
        // JSON.parse fails on QEMU's inf/nan tokens: the lossless parser knows them.
        value = decodeJsonLossless(text, this.#maxDepth);
      } catch (err2) {
        out.push({
          error:
            err2 instanceof QmpLimitError || err2 instanceof QmpProtocolError
              ? err2
              : new QmpProtocolError(`Invalid JSON: ${String(err)}`, { code: 'QMP_ERR_JSON', cause: err }),
        });
        return;
      }
    }
    out.push({ value, bytes: total });
  }

  /** Scans a bare top-level scalar; returns the index just past it, or -1 when the chunk ends first. */
  #scanScalar(buf: Buffer, i: number): number {
    const len = buf.length;
    if (this.#scalarIsString) {
      const end = this.#scanString(buf, i);
      return end === -1 ? -1 : end + 1;
    }
    for (; i < len; i++) {
      const c = buf[i]!;
      if (
        c === 0x20 ||
        c === 0x0a ||
        c === 0x0d ||
        c === 0x09 ||
        c === 0x7b ||
        c === 0x5b ||
        c === 0x7d ||
        c === 0x5d ||
        c === QUOTE
      ) {
        return i;
      }
    }
    return -1;
  }

  /**
   * Inside a string at `i`: returns the index of its closing quote, or -1 (string state kept) when the
   * chunk ends first. Jumps from quote to quote and counts the backslashes before each.
   */
  #scanString(buf: Buffer, i: number): number {
    const len = buf.length;
    if (this.#escape) {
      this.#escape = false;
      i++;
      if (i >= len) return -1;
    }
    for (;;) {
      const q = buf.indexOf(QUOTE, i);
      if (q === -1) {
        let bs = 0;
        for (let k = len - 1; k >= i && buf[k] === BACKSLASH; k--) bs++;
        this.#escape = bs % 2 === 1;
        return -1;
      }
      let bs = 0;
      for (let k = q - 1; k >= i && buf[k] === BACKSLASH; k--) bs++;
      if (bs % 2 === 0) {
        this.#inString = false;
        return q;
      }
      i = q + 1;
      if (i >= len) return -1;
    }
  }

  /**
   * Scans a container message; returns the index just past its end, or -1 when the chunk ends first.
   * One tight loop over locals: per-byte string scanning beats an `indexOf` call per string on QMP's
   * many short strings.
   */
  #scanContainer(buf: Buffer, i: number, out: JsonSplitItem[]): number {
    const len = buf.length;
    const maxDepth = this.#maxDepth;
    let inString = this.#inString;
    let depth = this.#depth;
    let digitRun = this.#digitRun;
    let lossless = this.#lossless;
    let skipping = this.#mode === 'skip';
    if (inString && this.#escape) {
      this.#escape = false;
      i++;
    }
    let result = -1;
    for (; i < len; i++) {
      const c = buf[i]!;
      if (inString) {
        if (c === QUOTE) inString = false;
        else if (c === BACKSLASH) {
          if (++i === len) {
            this.#escape = true;
            break;
          }
        }
        continue;
      }
      if (c === QUOTE) {
        inString = true;
        digitRun = 0;
      } else if (c >= 0x30 && c <= 0x39) {
        if (++digitRun >= LONG_DIGIT_RUN) lossless = true;
      } else {
        digitRun = 0;
        if (c === 0x7b || c === 0x5b) {
          if (++depth > maxDepth && !skipping) {
            out.push({
              error: new QmpLimitError(
                `A message nested deeper than ${maxDepth} levels was skipped (raise the maxDepth option)`,
                'maxDepth',
                maxDepth,
              ),
            });
            this.#chunks = [];
            this.#mode = 'skip';
            skipping = true;
          }
        } else if (c === 0x7d || c === 0x5d) {
          if (--depth <= 0) {
            depth = 0;
            result = i + 1;
            break;
          }
        }
      }
    }
    this.#inString = inString;
    this.#depth = depth;
    this.#digitRun = digitRun;
    this.#lossless = lossless;
    return result;
  }
}
