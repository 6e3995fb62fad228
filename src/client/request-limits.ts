import { QmpLimitError } from '../errors/qmp-error.js';
import { MAX_DEPTH, MAX_TOKEN_BYTES, MAX_TOKENS } from '../limits.js';
import { QNum, type QValue } from '../wire/q-value.js';
import type { RequestLine } from './request-encoder.js';

/** QEMU's input limits as its JSON streamer applies them to one message. */
export interface RequestLimits {
  /** Bytes of all tokens of the message together (QEMU: 64 MiB, refused when reached). */
  maxTokenBytes: number;
  /** Tokens in the message (QEMU: 2 Mi). */
  maxTokens: number;
  /** `{`/`[` nesting (QEMU: 1024). */
  maxDepth: number;
}

/** QEMU 7.2's limits. */
export const QEMU_REQUEST_LIMITS: RequestLimits = {
  maxTokenBytes: MAX_TOKEN_BYTES,
  maxTokens: MAX_TOKENS,
  maxDepth: MAX_DEPTH,
};

/** What one scan of a request line found. */
export interface RequestCounts {
  tokenBytes: number;
  tokens: number;
  depth: number;
}

/** Said in every refusal: the request was checked before any byte of it went out. */
const NOT_SENT = 'nothing was sent (QEMU would have cut it and read the rest as new input)';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** UTF-8 length of the UTF-16 code unit `c` (a surrogate half counts 2: a pair is 4 bytes). */
function utf8Bytes(c: number): number {
  return c < 0x80 ? 1 : c < 0x800 || (c >= 0xd800 && c <= 0xdfff) ? 2 : 3;
}

function isDelimiter(c: number): boolean {
  // Whitespace and the structural characters end a number or keyword token.
  return (
    c === 0x20 ||
    c === 0x09 ||
    c === 0x0a ||
    c === 0x0d ||
    c === 0x2c ||
    c === 0x3a ||
    c === 0x5b ||
    c === 0x5d ||
    c === 0x7b ||
    c === 0x7d ||
    c === QUOTE
  );
}

/**
 * Counts what QEMU's lexer will see in `text`, one valid JSON text as it goes on the wire: the bytes
 * of every token (a string token with its quotes, escapes as the bytes they occupy), the number of
 * tokens and the deepest nesting. Whitespace is not a token.
 */
export function countRequestTokens(text: string): RequestCounts {
  let tokenBytes = 0;
  let tokens = 0;
  let depth = 0;
  let maxDepth = 0;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) {
      i++;
      continue;
    }
    tokens++;
    if (c === QUOTE) {
      let bytes = 1;
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === BACKSLASH) {
          // The escape and the character after it (the rest of \uXXXX is plain ASCII).
          bytes += 2;
          i += 2;
          continue;
        }
        bytes += utf8Bytes(d);
        i++;
        if (d === QUOTE) break;
      }
      tokenBytes += bytes;
      continue;
    }
    if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > maxDepth) maxDepth = depth;
    } else if (c === 0x7d || c === 0x5d) depth--;
    if (c === 0x7b || c === 0x5b || c === 0x7d || c === 0x5d || c === 0x2c || c === 0x3a) {
      tokenBytes++;
      i++;
      continue;
    }
    // A number or a keyword: up to the next delimiter.
    const start = i;
    while (i < n && !isDelimiter(text.charCodeAt(i))) i++;
    for (let k = start; k < i; k++) tokenBytes += utf8Bytes(text.charCodeAt(k));
  }
  return { tokenBytes, tokens, depth: maxDepth };
}

/** {@link countRequestTokens} for JSON text as bytes: each byte of a token counts one. */
function countRequestBytes(b: Uint8Array): RequestCounts {
  let tokenBytes = 0;
  let tokens = 0;
  let depth = 0;
  let maxDepth = 0;
  const n = b.length;
  let i = 0;
  while (i < n) {
    const c = b[i] as number;
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) {
      i++;
      continue;
    }
    tokens++;
    const start = i;
    if (c === QUOTE) {
      i++;
      while (i < n) {
        const d = b[i] as number;
        i += d === BACKSLASH ? 2 : 1;
        if (d === QUOTE) break;
      }
    } else if (c === 0x7b || c === 0x5b || c === 0x7d || c === 0x5d || c === 0x2c || c === 0x3a) {
      if (c === 0x7b || c === 0x5b) {
        if (++depth > maxDepth) maxDepth = depth;
      } else if (c === 0x7d || c === 0x5d) depth--;
      i++;
    } else while (i < n && !isDelimiter(b[i] as number)) i++;
    tokenBytes += Math.min(i, n) - start;
  }
  return { tokenBytes, tokens, depth: maxDepth };
}

/** Deepest `{`/`[` nesting of `text`, skipping strings. */
function nestingOf(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) max = depth;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/**
 * Why QEMU would not read `line` (one encoded request) as one message, or undefined when it would.
 * Past a limit QEMU cuts the request and reads the rest of its bytes as new input: a string argument
 * could then run as a command of its own. A line shorter than the token limits cannot reach them
 * (every token is at least one code unit, at most three bytes), so only its nesting is scanned.
 */
export function checkRequestLimits(
  name: string,
  line: RequestLine,
  limits: RequestLimits = QEMU_REQUEST_LIMITS,
): QmpLimitError | undefined {
  if (typeof line !== 'string') {
    // The envelope around the arguments: its head opens one level, no token spans two pieces.
    const [head, body, tail] = line;
    const h = countRequestTokens(head);
    const b = countRequestBytes(body);
    const t = countRequestTokens(tail);
    const counts = {
      tokenBytes: h.tokenBytes + b.tokenBytes + t.tokenBytes,
      tokens: h.tokens + b.tokens + t.tokens,
      depth: Math.max(h.depth, 1 + b.depth),
    };
    return refusalFor(name, counts, limits);
  }
  const fast = line.length * 3 < limits.maxTokenBytes && line.length <= limits.maxTokens;
  const counts: RequestCounts = fast
    ? { tokenBytes: 0, tokens: 0, depth: line.length <= limits.maxDepth ? 0 : nestingOf(line) }
    : countRequestTokens(line);
  return refusalFor(name, counts, limits);
}

/** The refusal for a request with `counts`, or undefined. */
function refusalFor(
  name: string,
  counts: RequestCounts,
  limits: RequestLimits,
  atLeast = '',
): QmpLimitError | undefined {
  if (counts.depth > limits.maxDepth) {
    return new QmpLimitError(
      `${name}: the request nests ${counts.depth} deep; QEMU reads at most ${limits.maxDepth} (maxDepth); ${NOT_SENT}`,
      'maxDepth',
      limits.maxDepth,
    );
  }
  if (counts.tokens > limits.maxTokens) {
    return new QmpLimitError(
      `${name}: the request has ${atLeast}${counts.tokens} JSON tokens; QEMU reads at most ${limits.maxTokens} in one message (maxTokens); ${NOT_SENT}`,
      'maxTokens',
      limits.maxTokens,
    );
  }
  if (counts.tokenBytes >= limits.maxTokenBytes) {
    return new QmpLimitError(
      `${name}: the request's JSON tokens take ${atLeast}${counts.tokenBytes} bytes as encoded; QEMU reads less than ${limits.maxTokenBytes} in one message (maxTokenBytes); ${NOT_SENT}`,
      'maxTokenBytes',
      limits.maxTokenBytes,
    );
  }
  return undefined;
}

/** Encoded length of one UTF-16 code unit in a string token: printable ASCII as is, `"` `\\` and \b\f\n\r\t as two, the rest as `\\uXXXX`. */
function encodedUnit(c: number): number {
  if (c >= 0x20 && c < 0x7f) return c === QUOTE || c === BACKSLASH ? 2 : 1;
  return c === 0x08 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d ? 2 : 6;
}

/** Bytes of `s` as an ASCII-safe JSON string token, quotes included. */
function stringTokenBytes(s: string): number {
  let bytes = 2;
  for (let i = 0; i < s.length; i++) bytes += encodedUnit(s.charCodeAt(i));
  return bytes;
}

/**
 * What `encodeQValue(args)` will cost QEMU's lexer, computed from the value without building the
 * text: its token count exactly and its token bytes at least (numbers count one byte). Lets a
 * pass-through tool refuse a request that cannot pass before it spends memory encoding it.
 */
export function countValueTokens(v: QValue): RequestCounts {
  const counts: RequestCounts = { tokenBytes: 0, tokens: 0, depth: 0 };
  const walk = (x: QValue, depth: number): void => {
    if (typeof x === 'string') {
      counts.tokens++;
      counts.tokenBytes += stringTokenBytes(x);
      return;
    }
    if (x === null || typeof x === 'boolean' || x instanceof QNum) {
      counts.tokens++;
      counts.tokenBytes += x === null || x === true ? 4 : x === false ? 5 : 1;
      return;
    }
    if (depth + 1 > counts.depth) counts.depth = depth + 1;
    // The brackets, and a comma between members.
    const n = Array.isArray(x) ? x.length : x.size;
    counts.tokens += 2 + Math.max(0, n - 1);
    counts.tokenBytes += 2 + Math.max(0, n - 1);
    if (Array.isArray(x)) {
      for (const e of x) walk(e, depth + 1);
      return;
    }
    for (const [k, e] of x) {
      // The key and its colon.
      counts.tokens += 2;
      counts.tokenBytes += stringTokenBytes(k) + 1;
      walk(e, depth + 1);
    }
  };
  walk(v, 0);
  return counts;
}

/**
 * Why QEMU could not read a request with `args` (checked before it is encoded), or undefined when
 * it may: the encoded line is still checked by {@link checkRequestLimits} before it is sent.
 */
export function checkValueLimits(
  name: string,
  args: QValue,
  limits: RequestLimits = QEMU_REQUEST_LIMITS,
): QmpLimitError | undefined {
  return refusalFor(name, countValueTokens(args), limits, 'at least ');
}
