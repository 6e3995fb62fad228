import { formatDouble } from './format-double.js';
import { QNum, RawJson } from './q-value.js';
import { sortQdictKeys } from './qdict-order.js';

/** Options of {@link writeQemuJson}. */
export interface QemuWriteOptions {
  /** QEMU's `pretty=on` layout: one member per line, 4-space indent. */
  pretty?: boolean;
}

const HEX = '0123456789ABCDEF';

/** A JSON string as QEMU writes it: ASCII only, `\uXXXX` with upper-case hex, invalid UTF-16 as U+FFFD. */
export function quoteQemuString(s: string): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c) continue;
    out += s.slice(start, i);
    start = i + 1;
    switch (c) {
      case 0x22:
        out += '\\"';
        continue;
      case 0x5c:
        out += '\\\\';
        continue;
      case 0x08:
        out += '\\b';
        continue;
      case 0x0c:
        out += '\\f';
        continue;
      case 0x0a:
        out += '\\n';
        continue;
      case 0x0d:
        out += '\\r';
        continue;
      case 0x09:
        out += '\\t';
        continue;
      default:
        break;
    }
    let code = c;
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        out += `\\u${HEX[c >> 12]}${HEX[(c >> 8) & 15]}${HEX[(c >> 4) & 15]}${HEX[c & 15]}`;
        code = next;
        i++;
        start = i + 1;
      } else code = 0xfffd;
    } else if (c >= 0xdc00 && c <= 0xdfff) code = 0xfffd;
    out += `\\u${HEX[code >> 12]}${HEX[(code >> 8) & 15]}${HEX[(code >> 4) & 15]}${HEX[code & 15]}`;
  }
  return `${out}${s.slice(start)}"`;
}

function number(x: number): string {
  return Number.isSafeInteger(x) ? String(x) : formatDouble(x);
}

/** The text of a value that is no array or object, or `undefined` for arrays and objects. */
function scalar(v: unknown): string | undefined {
  switch (typeof v) {
    case 'string':
      return quoteQemuString(v);
    case 'number':
      return number(v);
    case 'bigint':
      return v.toString();
    case 'boolean':
      return v ? 'true' : 'false';
    case 'undefined':
      return 'null';
    default:
      break;
  }
  if (v === null) return 'null';
  if (v instanceof QNum) return v.kind === 'double' ? formatDouble(v.value as number) : String(v.value);
  if (v instanceof RawJson) return v.text;
  return undefined;
}

/** The members of an object or Map that are not `undefined`, in QEMU's output order. */
function orderedKeys(v: object): string[] {
  let keys: string[];
  if (v instanceof Map) {
    keys = [];
    for (const [k, x] of v as Map<string, unknown>) if (x !== undefined) keys.push(k);
  } else {
    keys = Object.keys(v);
    const src = v as Record<string, unknown>;
    let n = 0;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i] as string;
      if (src[k] !== undefined) keys[n++] = k;
    }
    // Shrinking an array is a slow runtime call: only when a member was left out.
    if (n !== keys.length) keys.length = n;
  }
  return sortQdictKeys(keys);
}

function member(v: object, k: string): unknown {
  return v instanceof Map ? (v as Map<string, unknown>).get(k) : (v as Record<string, unknown>)[k];
}

// The compact form is what every QMP reply and event uses: built by plain concatenation, with no
// intermediate arrays of parts.
function writeCompact(v: unknown): string {
  const s = scalar(v);
  if (s !== undefined) return s;
  if (Array.isArray(v)) {
    const n = v.length;
    if (n === 0) return '[]';
    let out = `[${writeCompact(v[0])}`;
    for (let i = 1; i < n; i++) out += `, ${writeCompact(v[i])}`;
    return `${out}]`;
  }
  const o = v as object;
  const keys = orderedKeys(o);
  if (keys.length === 0) return '{}';
  const map = o instanceof Map;
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    const x = map ? (o as Map<string, unknown>).get(k) : (o as Record<string, unknown>)[k];
    out += `${i === 0 ? '' : ', '}${quoteQemuString(k)}: ${writeCompact(x)}`;
  }
  return `${out}}`;
}

function writePretty(v: unknown, indent: string): string {
  const s = scalar(v);
  if (s !== undefined) return s;
  const inner = `${indent}    `;
  if (Array.isArray(v)) {
    if (v.length === 0) return `[\n${indent}]`;
    let out = '[\n';
    for (let i = 0; i < v.length; i++) out += `${i === 0 ? '' : ',\n'}${inner}${writePretty(v[i], inner)}`;
    return `${out}\n${indent}]`;
  }
  const o = v as object;
  const keys = orderedKeys(o);
  if (keys.length === 0) return `{\n${indent}}`;
  let out = '{\n';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    out += `${i === 0 ? '' : ',\n'}${inner}${quoteQemuString(k)}: ${writePretty(member(o, k), inner)}`;
  }
  return `${out}\n${indent}}`;
}

/**
 * QEMU's JSON text for a value: `", "` and `": "` separators, QEMU's QDict member order (from the
 * insertion order of objects and Maps), `%.17g` doubles, ASCII-only strings. Accepts QValues and
 * plain JS values (`undefined` members are left out); a {@link RawJson} is copied verbatim, also in
 * pretty mode (QEMU never pretty-prints such pre-serialized text here: it is a qmpkit shortcut).
 */
export function writeQemuJson(value: unknown, options: QemuWriteOptions = {}): string {
  return options.pretty ? writePretty(value, '') : writeCompact(value);
}

/** A message as QEMU sends it: every `\n` becomes `\r\n`, and the message ends with `\r\n`. */
export function formatQemuMessage(value: unknown, options: QemuWriteOptions = {}): string {
  const text = writeQemuJson(value, options);
  return `${options.pretty ? text.replaceAll('\n', '\r\n') : text}\r\n`;
}
