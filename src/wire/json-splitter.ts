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

  constructor(options: JsonSplitterOptions = {}) {
    this.#maxBytes = options.maxMessageBytes ?? MAX_MESSAGE_BYTES;
    this.#maxDepth = options.maxDepth ?? MAX_NESTING_DEPTH;
  }

  /** Bytes held for an incomplete message. */
  get bufferedBytes(): number {
    return this.#mode === 'skip' ? 0 : this.#bytes;
  }

  /** Drops any partial message (e.g. for a new connection). */
  reset(): void {
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
          return out;
        }
        this.#finish(buf, start, end, out);
        i = end;
        continue;
      }
      // container or skip
      const end = this.#scanContainer(buf, i, out);
      if (end === -1) {
        if (this.#mode !== 'skip') this.#hold(buf, start, len, out);
        return out;
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
    return out;
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

  /** Scans a container message; returns the index just past its end, or -1 when the chunk ends first. */
  #scanContainer(buf: Buffer, i: number, out: JsonSplitItem[]): number {
    const len = buf.length;
    const skipping = (): boolean => this.#mode === 'skip';
    let bytesBase = this.#bytes;
    let msgStart = i;
    while (i < len) {
      if (this.#inString) {
        const q = this.#scanString(buf, i);
        if (q === -1) return -1;
        i = q + 1;
        continue;
      }
      const c = buf[i]!;
      if (c >= 0x30 && c <= 0x39) {
        if (++this.#digitRun >= LONG_DIGIT_RUN) this.#lossless = true;
        i++;
        continue;
      }
      this.#digitRun = 0;
      switch (c) {
        case QUOTE:
          this.#inString = true;
          break;
        case 0x7b:
        case 0x5b:
          if (++this.#depth > this.#maxDepth && !skipping()) {
            out.push({
              error: new QmpLimitError(
                `A message nested deeper than ${this.#maxDepth} levels was skipped (raise the maxDepth option)`,
                'maxDepth',
                this.#maxDepth,
              ),
            });
            this.#chunks = [];
            this.#mode = 'skip';
          }
          break;
        case 0x7d:
        case 0x5d:
          if (--this.#depth <= 0) {
            this.#depth = 0;
            return i + 1;
          }
          break;
        default:
          break;
      }
      i++;
      // Enforce the byte limit as we go so a huge message is never held whole.
      if (!skipping() && bytesBase + (i - msgStart) > this.#maxBytes) {
        this.#bytes = bytesBase + (i - msgStart);
        this.#tooBig(out);
        bytesBase = 0;
        msgStart = i;
      }
    }
    return -1;
  }
}
