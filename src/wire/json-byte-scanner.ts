// The exact half of the splitter: a byte-by-byte scanner that tracks strings, escapes and bracket
// nesting, so it frames any input; the line fast path in json-splitter.ts hands it what a line does
// not decode to one value.
import { QmpLimitError, QmpProtocolError } from '../errors/qmp-error.js';
import { decodeJsonText, depthError, jsonExcerpt } from './json-decoder.js';
import type { JsonValue } from './json-value.js';

/**
 * One result of `JsonSplitter.push`: a whole message, its size in bytes and its text as received
 * (without the whitespace around it), or why one was lost (`QmpLimitError` past a limit, `QmpProtocolError` with code `QMP_ERR_JSON` for bad JSON).
 */
export type JsonSplitItem =
  | { value: JsonValue; bytes: number; text: string }
  | { error: QmpLimitError | QmpProtocolError };

export const LF = 0x0a;
export const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** A buffer up to this size is kept for the next unfinished message; a bigger one is let go. */
const KEPT_BUFFER_BYTES = 64 * 1024;

/**
 * The text of `buf[s, e)`. Public API only: Node's private `Buffer#utf8Slice` measured no faster
 * than `toString` on Node 20+ (same fast path), and it may go away.
 */
export function utf8(buf: Buffer, s: number, e: number): string {
  return buf.toString('utf8', s, e);
}

export function isSpace(c: number): boolean {
  return c === 0x20 || c === LF || c === 0x0d || c === 0x09;
}

/** A top-level word (number, `true`, `inf`, garbage) ends at whitespace or structure. */
function endsWord(c: number): boolean {
  return isSpace(c) || c === 0x7b || c === 0x7d || c === 0x5b || c === 0x5d || c === QUOTE;
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
export class ByteStore {
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
export class ByteScanner {
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
