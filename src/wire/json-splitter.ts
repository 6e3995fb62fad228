import { isAscii } from 'node:buffer';
import { QmpUsageError } from '../errors/qmp-error.js';
import { MAX_DEPTH, MAX_MESSAGE_BYTES } from '../limits.js';
import { ByteScanner, ByteStore, isSpace, type JsonSplitItem, LF, QUOTE, utf8 } from './json-byte-scanner.js';
import { decodeJsonLossless, depthError, depthWithin, mayHoldBigInt } from './json-decoder.js';
import type { JsonValue } from './json-value.js';

export type { JsonSplitItem } from './json-byte-scanner.js';

/** Options of {@link JsonSplitter}. */
export interface JsonSplitterOptions {
  /** Largest message accepted, in bytes, whitespace between messages not counted (default {@link MAX_MESSAGE_BYTES}, 10 MiB). */
  maxMessageBytes?: number;
  /** Deepest `{`/`[` nesting accepted (default {@link MAX_DEPTH}, 1024). */
  maxDepth?: number;
}

/**
 * While a line-framed peer's unfinished line is this small, a chunk that ends like a message is
 * checked by the scanner, so a message is returned even if its newline never comes. Bigger held lines
 * wait for their newline: scanning them would cost as much as decoding them.
 */
const TAIL_SCAN_MAX_BYTES = 16 * 1024;

function optionValue(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !(v >= 1))
    throw new QmpUsageError(`JsonSplitter: ${name} must be a number >= 1, got ${String(v)}`);
  return v;
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
    this.#maxDepth = optionValue('maxDepth', options.maxDepth, MAX_DEPTH);
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
