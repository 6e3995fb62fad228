import { QmpUsageError } from '../errors/qmp-error.js';
import type { JsonValue } from '../wire/json-value.js';
import { parseLooseJson } from './loose-json.js';
import type { ShellJsonKind, ShellTypeInfo } from './shell-schema.js';
import type { ShellWordPart } from './shell-tokenizer.js';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const INTEGER_RE = /^[-+]?\d+$/;
const FLOAT_RE = /^[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?$/;

/** The JSON kind of a decoded value (`integer` for whole numbers, `number` for the rest). */
export function kindOfValue(value: JsonValue): Exclude<ShellJsonKind, 'any'> {
  if (value === null) return 'null';
  if (typeof value === 'bigint') return 'integer';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'boolean';
  return Array.isArray(value) ? 'array' : 'object';
}

/** Reads an unquoted word as qmp-shell users expect: booleans, `null`, integers, floats, else text. */
function naturalValue(text: string): JsonValue {
  const lower = text.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  if (text === 'null') return null;
  if (INTEGER_RE.test(text)) {
    const big = BigInt(text);
    return big > MAX_SAFE || big < -MAX_SAFE ? big : Number(big);
  }
  if (FLOAT_RE.test(text)) return Number(text);
  return text;
}

/**
 * Turns the value half of a `key=value` word into JSON. Anything quoted is a string; `{...}`/`[...]`
 * is JSON (Python-style literals accepted); bare words are booleans, `null`, numbers or strings.
 * With the argument's declared type (`info`, from the schema) a value of the wrong kind becomes the
 * text typed when the type takes a string (so `id=1` stays `"1"`), and `on`/`off`/`yes`/`no` are
 * booleans where only a boolean fits.
 */
export function parseShellValue(parts: readonly ShellWordPart[], info?: ShellTypeInfo | undefined): JsonValue {
  const first = parts[0];
  if (first?.kind === 'unterminated-json') {
    if (info !== undefined && onlyString(info.kinds) && parts.length === 1) return first.text;
    throw new QmpUsageError(first.message);
  }
  if (first?.kind === 'json') {
    if (parts.length > 1) throw new QmpUsageError(`Unexpected text after the JSON value '${first.text}'`);
    if (info !== undefined && onlyString(info.kinds)) return first.text;
    let value: JsonValue;
    try {
      value = parseLooseJson(first.text);
    } catch (err) {
      if (info?.kinds.has('string')) return first.text;
      throw err;
    }
    return coerce(value, first.text, info);
  }
  let text = '';
  let quoted = false;
  for (const p of parts) {
    if (p.kind === 'unterminated-json') throw new QmpUsageError(p.message);
    if (p.kind === 'eq') text += '=';
    else text += p.text;
    if (p.kind !== 'plain' && p.kind !== 'eq') quoted = true;
  }
  if (quoted) return text;
  return coerce(naturalValue(text), text, info);
}

function onlyString(kinds: ReadonlySet<ShellJsonKind>): boolean {
  return kinds.has('string') && !kinds.has('object') && !kinds.has('array') && !kinds.has('any');
}

function coerce(value: JsonValue, text: string, info: ShellTypeInfo | undefined): JsonValue {
  if (info === undefined || info.kinds.has('any')) return value;
  const kind = kindOfValue(value);
  if (info.kinds.has(kind) || (kind === 'integer' && info.kinds.has('number'))) return value;
  if (info.kinds.has('boolean') && typeof value === 'string') {
    if (/^(on|yes)$/i.test(value)) return true;
    if (/^(off|no)$/i.test(value)) return false;
  }
  if (info.kinds.has('string')) return text;
  return value;
}
