import { QmpUsageError } from '../errors/qmp-error.js';
import { MAX_NESTING_DEPTH } from '../limits.js';

// Everything JSON.stringify leaves unescaped that QMP peers must not see raw: DEL and all non-ASCII.
const NON_ASCII_RE = /[\u007f-\uffff]/g;

function escapeNonAscii(s: string): string {
  NON_ASCII_RE.lastIndex = 0;
  if (!NON_ASCII_RE.test(s)) return s;
  return s.replace(NON_ASCII_RE, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function encodeString(s: string): string {
  // JSON.stringify escapes quotes, backslashes, control characters and lone surrogates.
  return escapeNonAscii(JSON.stringify(s));
}

function encodeValue(v: unknown, depth: number, path: string): string | undefined {
  switch (typeof v) {
    case 'string':
      return encodeString(v);
    case 'number':
      if (!Number.isFinite(v))
        throw new QmpUsageError(`Cannot encode ${String(v)} at ${path}: JSON has no such number`);
      return JSON.stringify(v);
    case 'bigint':
      return v.toString();
    case 'boolean':
      return v ? 'true' : 'false';
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    default:
      break;
  }
  if (v === null) return 'null';
  if (depth >= MAX_NESTING_DEPTH) {
    throw new QmpUsageError(`Cannot encode ${path}: nested deeper than ${MAX_NESTING_DEPTH} levels (or a cycle)`);
  }
  const obj = v as { toJSON?: unknown };
  if (typeof obj.toJSON === 'function') return encodeValue((obj.toJSON as () => unknown).call(v), depth, path);
  if (Array.isArray(v)) {
    let s = '[';
    for (let i = 0; i < v.length; i++) {
      if (i > 0) s += ',';
      s += encodeValue(v[i], depth + 1, `${path}[${i}]`) ?? 'null';
    }
    return `${s}]`;
  }
  if (v instanceof Map) {
    throw new QmpUsageError(`Cannot encode a Map at ${path}: use a plain object`);
  }
  let s = '{';
  let first = true;
  for (const key of Object.keys(v as object)) {
    const enc = encodeValue((v as Record<string, unknown>)[key], depth + 1, `${path}.${key}`);
    if (enc === undefined) continue;
    s += `${first ? '' : ','}${encodeString(key)}:${enc}`;
    first = false;
  }
  return `${s}}`;
}

/**
 * Encodes a value as compact JSON with ASCII-only output (every character from DEL up is `\uXXXX`),
 * `bigint` as a plain integer, members that are `undefined` left out. Throws `QmpUsageError` for
 * non-finite numbers, a top-level value JSON cannot hold, and nesting past {@link MAX_NESTING_DEPTH}
 * (which is also how a cycle shows).
 */
export function encodeJson(value: unknown): string {
  const out = encodeValue(value, 0, 'value');
  if (out === undefined) throw new QmpUsageError(`Cannot encode a ${typeof value} as JSON`);
  return out;
}

/** Encodes one message for the wire: {@link encodeJson} plus a newline. */
export function encodeMessage(value: unknown): string {
  return `${encodeJson(value)}\n`;
}
