import { isAscii } from 'node:buffer';
import { QmpLimitError, QmpProtocolError, QmpUsageError } from '../errors/qmp-error.js';
import { MAX_MESSAGE_BYTES, MAX_NESTING_DEPTH } from '../limits.js';
import {
  decodeJsonLossless,
  decodeJsonText,
  depthError,
  depthWithin,
  jsonExcerpt,
  mayHoldBigInt,
} from './json-decoder.js';
import type { JsonValue } from './json-value.js';

/** Options of {@link JsonSplitter}. */
export interface JsonSplitterOptions {
  /** Largest message accepted, in bytes, whitespace between messages not counted (default {@link MAX_MESSAGE_BYTES}, 10 MiB). */
  maxMessageBytes?: number;
  /** Deepest `{`/`[` nesting accepted (default {@link MAX_NESTING_DEPTH}, 1024). */
  maxDepth?: number;
}

/**
 * One result of {@link JsonSplitter.push}: a whole message, its size in bytes and its text as received
 * (without the whitespace around it), or why one was lost (`QmpLimitError` past a limit, `QmpProtocolError` with code `QMP_ERR_JSON` for bad JSON).
 */
export type JsonSplitItem =
  | { value: JsonValue; bytes: number; text: string }
  | { error: QmpLimitError | QmpProtocolError };

const LF = 0x0a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * While a line-framed peer's unfinished line is this small, a chunk that ends like a message is
 * checked by the scanner, so a message is returned even if its newline never comes. Bigger held lines
 * wait for their newline: scanning them would cost as much as decoding them.
 */
const TAIL_SCAN_MAX_BYTES = 16 * 1024;

/** A buffer up to this size is kept for the next unfinished message; a bigger one is let go. */
const KEPT_BUFFER_BYTES = 64 * 1024;

/**
 * The text of `buf[s, e)`. Public API only: Node's private `Buffer#utf8Slice` measured no faster
 * than `toString` on Node 20+ (same fast path), and it may go away.
 */
function utf8(buf: Buffer, s: number, e: number): string {
  return buf.toString('utf8', s, e);
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === LF || c === 0x0d || c === 0x09;
}

/** A top-level word (number, `true`, `inf`, garbage) ends at whitespace or structure. */
function endsWord(c: number): boolean {
  return isSpace(c) || c === 0x7b || c === 0x7d || c === 0x5b || c === 0x5d || c === QUOTE;
}

function optionValue(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !(v >= 1))
    throw new QmpUsageError(`JsonSplitter: ${name} must be a number >= 1, got ${String(v)}`);
  return v;
}

function asItemError(err: unknown): QmpLimitError | QmpProtocolError {
  if (err instanceof QmpLimitError || err instanceof QmpProtocolError) return err;
  return new QmpProtocolError(`Invalid JSON: ${String(err)}`, { code: 'QMP_ERR_JSON', cause: err });
}

function tooBigError(maxBytes: number): QmpLimitError {
  return new QmpLimitError(
    `A message longer than ${maxBytes} bytes was skipped (raise the maxMessageBytes option)`,
    'maxMessageBytes',
    maxBytes,
  );
}

/**
 * Copies of bytes in one buffer that grows by doubling, so a message that comes a byte at a time costs
 * neither an object per chunk nor a join at the end; the caller may reuse its chunks. Never grows past
 * `cap` unless one append needs more.
 */
class ByteStore {
  #buf: Buffer | undefined;
  #length = 0;

  get length(): number {
    return this.#length;
  }

  append(bytes: Buffer, cap: number): void {
    const need = this.#length + bytes.length;
    let b = this.#buf;
    if (b === undefined || b.length < need) {
      const grown = Buffer.allocUnsafe(Math.max(need, Math.min(Math.max(2 * (b?.length ?? 0), 4096), cap)));
      if (b !== undefined) b.copy(grown, 0, 0, this.#length);
      this.#buf = b = grown;
    }
    bytes.copy(b, this.#length);
    this.#length = need;
  }

  /** The bytes held, from `from` on. Valid until the next append or clear. */
  view(from = 0): Buffer {
    return (this.#buf as Buffer).subarray(from, this.#length);
  }

  /** Empties the store; keeps a small buffer for reuse. */
  clear(): void {
    this.#length = 0;
    if (this.#buf !== undefined && this.#buf.length > KEPT_BUFFER_BYTES) this.#buf = undefined;
  }
}

type ScanMode = 'idle' | 'container' | 'string' | 'word';

/**
 * The exact splitter: tracks string/escape state and bracket nesting byte by byte, so it frames any
 * input (pretty=on, several messages per line, no newlines at all). Keeps copies of the bytes of an
 * unfinished message only, joined once when it completes.
 */
class ByteScanner {
  readonly #maxBytes: number;
  readonly #maxDepth: number;
  #mode: ScanMode = 'idle';
  /** Past a limit: the rest of the message is scanned but neither kept nor decoded. */
  #skipping = false;
  /** Why the message at hand is broken (set when framing itself shows it). */
  #malformed: string | undefined;
  /** The unfinished message's bytes from earlier chunks. */
  readonly #held = new ByteStore();
  #depth = 0;
  /** The closing bracket each open level expects, for levels up to maxDepth. */
  #closers: number[] = [];
  #inString = false;
  #escape = false;
  /** The last byte scanned inside a container (outside strings) was a newline. */
  #lineStart = false;

  constructor(maxBytes: number, maxDepth: number) {
    this.#maxBytes = maxBytes;
    this.#maxDepth = maxDepth;
  }

  get idle(): boolean {
    return this.#mode === 'idle';
  }

  get bufferedBytes(): number {
    return this.#held.length;
  }

  reset(): void {
    this.#mode = 'idle';
    this.#skipping = false;
    this.#malformed = undefined;
    this.#held.clear();
    this.#depth = 0;
    this.#closers = [];
    this.#inString = false;
    this.#escape = false;
    this.#lineStart = false;
  }

  push(buf: Buffer, out: JsonSplitItem[]): void {
    const len = buf.length;
    let i = 0;
    /** Where the message at hand starts in this chunk. */
    let start = 0;
    while (i < len) {
      if (this.#mode === 'idle') {
        let c = buf[i] as number;
        while (isSpace(c)) {
          if (++i === len) return;
          c = buf[i] as number;
        }
        start = i;
        if (c === 0x7b || c === 0x5b) {
          this.#mode = 'container';
        } else if (c === 0x7d || c === 0x5d) {
          i++;
          out.push({ error: this.#jsonError(`unexpected '${String.fromCharCode(c)}' between messages`, buf, i) });
          continue;
        } else if (c === QUOTE) {
          this.#mode = 'string';
          this.#inString = true;
          i++;
        } else {
          this.#mode = 'word';
          i++;
        }
      }
      let end: number;
      if (this.#mode === 'container') end = this.#scanContainer(buf, i, out);
      else if (this.#mode === 'string') end = this.#scanString(buf, i);
      else end = this.#scanWord(buf, i);
      if (end === -1) {
        this.#hold(buf, start, out);
        return;
      }
      this.#finish(buf, start, end, out);
      i = end;
    }
  }

  /** Inside a string at `i`: returns the index past its closing quote, or -1 when the chunk ends first. */
  #scanString(buf: Buffer, i: number): number {
    const len = buf.length;
    if (this.#escape) {
      if (i === len) return -1;
      this.#escape = false;
      i++;
    }
    while (i < len) {
      const c = buf[i++] as number;
      if (c === QUOTE) {
        this.#inString = false;
        return i;
      }
      if (c === BACKSLASH) {
        if (i === len) {
          this.#escape = true;
          return -1;
        }
        i++;
      } else if (c === LF) {
        // JSON strings cannot hold a raw newline: the message was cut short. Resynchronize here
        // rather than let the string swallow the messages that follow.
        this.#inString = false;
        this.#malformed = 'a line break inside a string (truncated message?)';
        return i;
      }
    }
    return -1;
  }

  #scanWord(buf: Buffer, i: number): number {
    const len = buf.length;
    while (i < len && !endsWord(buf[i] as number)) i++;
    return i < len ? i : -1;
  }

  /** Scans a `{`/`[` message; returns the index past its end, or -1 when the chunk ends first. */
  #scanContainer(buf: Buffer, i: number, out: JsonSplitItem[]): number {
    const len = buf.length;
    const maxDepth = this.#maxDepth;
    const closers = this.#closers;
    let depth = this.#depth;
    if (this.#inString) {
      i = this.#scanString(buf, i);
      if (i === -1) return -1;
      if (this.#malformed !== undefined) return i;
    }
    let lineStart = this.#lineStart;
    while (i < len) {
      const c = buf[i++] as number;
      if (lineStart) {
        if (c === 0x7b) {
          // QEMU starts every message at the beginning of a line and indents everything nested
          // (pretty=on), so a `{` there means the open message was cut short. Report it and start
          // the new message here instead of swallowing it (and those after it) into the old one.
          this.#lineStart = false;
          this.#depth = depth;
          this.#malformed = 'a message cut short (a new one starts at the beginning of a line)';
          return i - 1;
        }
        if (c !== LF) lineStart = false;
      } else if (c === LF) lineStart = true;
      if (c === QUOTE) {
        this.#lineStart = false;
        this.#inString = true;
        this.#depth = depth;
        i = this.#scanString(buf, i);
        if (i === -1) return -1;
        if (this.#malformed !== undefined) return i;
      } else if (c === 0x7b || c === 0x5b) {
        if (++depth <= maxDepth) {
          closers.push(c + 2); // '{' + 2 is '}', '[' + 2 is ']'
        } else if (!this.#skipping) {
          out.push({ error: depthError(maxDepth) });
          this.#skip();
        }
      } else if (c === 0x7d || c === 0x5d) {
        if (depth <= maxDepth) {
          const expected = closers.pop() as number;
          if (expected !== c) {
            this.#malformed = `'${String.fromCharCode(c)}' closes a '${String.fromCharCode(expected - 2)}'`;
            return i;
          }
        }
        if (--depth === 0) {
          this.#depth = 0;
          return i;
        }
      }
    }
    this.#lineStart = lineStart;
    this.#depth = depth;
    return -1;
  }

  #skip(): void {
    this.#skipping = true;
    this.#held.clear();
  }

  /** Keeps (a copy of) the unfinished tail of a message; enforces maxMessageBytes on it. */
  #hold(buf: Buffer, start: number, out: JsonSplitItem[]): void {
    if (this.#skipping) return;
    if (this.#held.length + (buf.length - start) > this.#maxBytes) {
      out.push({ error: tooBigError(this.#maxBytes) });
      this.#skip();
      return;
    }
    this.#held.append(buf.subarray(start), this.#maxBytes);
  }

  /** The message made of the held chunks plus `buf[start, end)` is complete: decode it. */
  #finish(buf: Buffer, start: number, end: number, out: JsonSplitItem[]): void {
    const held = this.#held.length;
    const total = held + (end - start);
    const malformed = this.#malformed;
    const skipping = this.#skipping;
    this.#mode = 'idle';
    this.#skipping = false;
    this.#malformed = undefined;
    this.#depth = 0;
    this.#closers.length = 0;
    this.#inString = false;
    this.#escape = false;
    this.#lineStart = false;
    let text: string | undefined;
    if (skipping) {
      // The error was reported when the limit was passed.
    } else if (malformed !== undefined) {
      out.push({ error: this.#jsonError(malformed, buf, end) });
    } else if (total > this.#maxBytes) {
      out.push({ error: tooBigError(this.#maxBytes) });
    } else if (held === 0) {
      text = utf8(buf, start, end);
    } else {
      this.#held.append(buf.subarray(start, end), total);
      const all = this.#held.view();
      text = utf8(all, 0, all.length);
    }
    this.#held.clear();
    if (text === undefined) return;
    try {
      // The scan enforced maxDepth already (or the lossless parser will).
      out.push({ value: decodeJsonText(text, this.#maxDepth, false), bytes: total, text });
    } catch (err) {
      out.push({ error: asItemError(err) });
    }
  }

  /** An error whose excerpt is the bytes just before `at` in this chunk. */
  #jsonError(what: string, buf: Buffer, at: number): QmpProtocolError {
    const from = Math.max(0, at - 40);
    const text = buf.toString('utf8', from, at);
    return new QmpProtocolError(`Invalid JSON: ${what} near ${jsonExcerpt(text, text.length)}`, {
      code: 'QMP_ERR_JSON',
    });
  }
}

/**
 * Streaming splitter for QMP's byte stream: feed it any chunks (one byte at a time, many messages in
 * one chunk, messages split anywhere, CRLF, `pretty=on` multi-line output) and it returns every whole
 * message, decoded exactly (integers beyond ±(2^53−1) as `bigint`; QEMU's `inf`/`nan` as numbers).
 * A top-level scalar comes back as a value; whitespace between messages is skipped.
 *
 * Fast path: QEMU ends every message with a newline, so a line is usually one whole message. Lines
 * are found with `indexOf` and decoded by `JSON.parse` (after a native regex test for integers it
 * would round); whatever a line does not decode to a single value (pretty=on, several messages on a
 * line, bad JSON) goes to an exact byte scanner that tracks strings, escapes and bracket nesting.
 * A peer that leaves a message open across a newline (pretty=on) is served by that scanner from then
 * on. A message that arrives without its newline is returned at once when it is small, or by a peer
 * that never sent a newline; a bigger one from a line-framed peer waits for its newline.
 *
 * Limits: past `maxMessageBytes` or `maxDepth` one `QmpLimitError` item is returned and the rest of
 * that message is skipped without being buffered; bad JSON gives one `QmpProtocolError`
 * (`QMP_ERR_JSON`). `push()` never throws.
 *
 * Resynchronization: a message is over, as far as framing goes, when its brackets balance, when one
 * of its strings meets a raw newline (JSON strings cannot hold one), or when a line starts with `{`
 * while it is still open. QEMU starts each message on a new line and indents whatever is nested
 * (`pretty=on` too), so that `{` can only be the next message: the cut-short one is reported as one
 * `QMP_ERR_JSON` item before the messages that follow, which are returned as usual. A peer that puts
 * a nested `{` at the start of a line is not supported. A message that is cut short and followed by
 * nothing is never reported by the splitter: the caller's deadline covers it.
 */
export class JsonSplitter {
  readonly #maxBytes: number;
  readonly #maxDepth: number;
  readonly #scanner: ByteScanner;
  /** The peer left a message open across a newline: the scanner owns the stream. */
  #scanning = false;
  /** The peer ended a message with a newline (QEMU always does). */
  #sawLine = false;
  /** The unfinished line's bytes. */
  readonly #tail = new ByteStore();
  /** How many of those bytes the scanner has seen while checking whether they end a message. */
  #scannedBytes = 0;

  /** @throws QmpUsageError when an option is not a number >= 1. */
  constructor(options: JsonSplitterOptions = {}) {
    this.#maxBytes = optionValue('maxMessageBytes', options.maxMessageBytes, MAX_MESSAGE_BYTES);
    this.#maxDepth = optionValue('maxDepth', options.maxDepth, MAX_NESTING_DEPTH);
    this.#scanner = new ByteScanner(this.#maxBytes, this.#maxDepth);
  }

  /** Bytes held for an incomplete message. */
  get bufferedBytes(): number {
    return this.#scanning ? this.#scanner.bufferedBytes : this.#tail.length;
  }

  /** Drops any partial message and what was learnt about the peer (e.g. for a new connection). */
  reset(): void {
    this.#scanner.reset();
    this.#scanning = false;
    this.#sawLine = false;
    this.#tail.clear();
    this.#scannedBytes = 0;
  }

  /**
   * Feeds bytes; returns every message (or error) they complete, in order. The bytes are copied when
   * kept, so the caller may reuse `chunk` afterwards.
   */
  push(chunk: Uint8Array): JsonSplitItem[] {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const out: JsonSplitItem[] = [];
    if (this.#scanning) {
      this.#scanner.push(buf, out);
      return out;
    }
    const len = buf.length;
    let nl = buf.indexOf(LF);
    if (nl === -1) {
      if (len > 0) this.#holdTail(buf, out);
      return out;
    }
    let from = 0;
    if (this.#tail.length > 0) {
      this.#tail.append(buf.subarray(0, nl + 1), this.#maxBytes);
      const line = this.#tail.view();
      this.#dropTail(false);
      // Nothing keeps a reference into `line` (the scanner copies what it holds) before it is reused.
      this.#line(line, 0, line.length, out);
      from = nl + 1;
      nl = buf.indexOf(LF, from);
    }
    // Several lines in one chunk (a burst of replies or events): decode the chunk to one string and
    // cut lines from it, rather than pay for a Buffer-to-string call per line. Offsets into the string
    // are byte offsets only when the bytes are ASCII, which QEMU's output always is.
    if (nl !== -1 && nl + 1 < len && isAscii(buf)) return this.#textLines(buf, from, out);
    for (; nl !== -1; nl = from < len ? buf.indexOf(LF, from) : -1) {
      if (this.#scanning) break;
      this.#line(buf, from, nl + 1, out);
      from = nl + 1;
    }
    if (from < len) {
      if (this.#scanning) this.#scanner.push(buf.subarray(from), out);
      else this.#holdTail(buf.subarray(from), out);
    }
    return out;
  }

  /** The lines of an ASCII chunk from `from` on (an unfinished line from before is done). */
  #textLines(buf: Buffer, from: number, out: JsonSplitItem[]): JsonSplitItem[] {
    const text = buf.toString('latin1', from);
    const bigInts = mayHoldBigInt(text);
    const len = text.length;
    let p = 0;
    for (let nl = text.indexOf('\n'); nl !== -1 && !this.#scanning; nl = text.indexOf('\n', p)) {
      let s = p;
      let e = nl;
      p = nl + 1;
      while (s < e && isSpace(text.charCodeAt(s))) s++;
      while (e > s && isSpace(text.charCodeAt(e - 1))) e--;
      if (s === e) continue;
      const c = text.charCodeAt(s);
      if (e - s <= this.#maxBytes && (c === 0x7b || c === 0x5b)) {
        const line = text.slice(s, e);
        if (this.#decodeLine(line, bigInts && mayHoldBigInt(line), e - s, out)) continue;
      }
      this.#toScanner(buf.subarray(from + s, from + p), out);
    }
    if (p < len) {
      if (this.#scanning) this.#scanner.push(buf.subarray(from + p), out);
      else this.#holdTail(buf.subarray(from + p), out);
    }
    return out;
  }

  /**
   * Forgets the unfinished line (keeping a small buffer for the next one) and, unless the scanner took
   * it over, what the scanner saw of it.
   */
  #dropTail(scannerTookOver: boolean): void {
    this.#tail.clear();
    if (this.#scannedBytes > 0 && !scannerTookOver) this.#scanner.reset();
    this.#scannedBytes = 0;
  }

  /** One line of bytes, starting at a message boundary. */
  #line(buf: Buffer, start: number, end: number, out: JsonSplitItem[]): void {
    let s = start;
    let e = end;
    while (s < e && isSpace(buf[s] as number)) s++;
    while (e > s && isSpace(buf[e - 1] as number)) e--;
    if (s === e) return;
    const c = buf[s];
    if (e - s <= this.#maxBytes && (c === 0x7b || c === 0x5b)) {
      const text = utf8(buf, s, e);
      if (this.#decodeLine(text, mayHoldBigInt(text), e - s, out)) return;
    }
    this.#toScanner(buf.subarray(s, end), out);
  }

  /**
   * Decodes a trimmed line that starts with a bracket. False when it is not one whole value (pretty=on,
   * several values, bad JSON, too deep): the caller hands its bytes to the scanner, which knows which.
   */
  #decodeLine(text: string, bigInts: boolean, bytes: number, out: JsonSplitItem[]): boolean {
    let value: JsonValue;
    try {
      value = bigInts ? decodeJsonLossless(text, this.#maxDepth) : (JSON.parse(text) as JsonValue);
    } catch {
      return false;
    }
    this.#sawLine = true;
    if (bigInts || depthWithin(value, bytes, this.#maxDepth)) out.push({ value, bytes, text });
    else out.push({ error: depthError(this.#maxDepth) });
    return true;
  }

  #toScanner(bytes: Buffer, out: JsonSplitItem[]): void {
    this.#scanner.push(bytes, out);
    if (!this.#scanner.idle) this.#scanning = true;
  }

  /** Keeps the bytes after the last newline; returns the messages among them that are already whole. */
  #holdTail(rest: Buffer, out: JsonSplitItem[]): void {
    const found: JsonSplitItem[] = [];
    const tooBig = this.#tail.length + rest.length > this.#maxBytes;
    if (tooBig) {
      // The scanner counts exactly (whitespace is not part of a message) and skips without keeping.
      if (this.#tail.length > this.#scannedBytes) this.#scanner.push(this.#tail.view(this.#scannedBytes), found);
      this.#scanner.push(rest, found);
    } else {
      this.#tail.append(rest, this.#maxBytes);
      if (this.#sawLine && this.#tail.length > TAIL_SCAN_MAX_BYTES) return;
      let last = rest.length - 1;
      while (last >= 0 && isSpace(rest[last] as number)) last--;
      const c = rest[last];
      if (c !== 0x7d && c !== 0x5d && c !== QUOTE) return;
      this.#scanner.push(this.#tail.view(this.#scannedBytes), found);
      this.#scannedBytes = this.#tail.length;
      if (found.length === 0) return;
    }
    for (const item of found) out.push(item);
    this.#dropTail(true);
    // The scanner holds the unfinished message now (or skips the one that is too big).
    if (!this.#scanner.idle) this.#scanning = true;
  }
}
