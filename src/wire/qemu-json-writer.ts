import { formatDouble } from './format-double.js';
import { QNum, RawJson } from './q-value.js';
import { qdictOrder } from './qdict-order.js';

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

function entries(v: object): Array<[string, unknown]> {
  if (v instanceof Map) return [...(v as Map<string, unknown>).entries()].filter(([, x]) => x !== undefined);
  return Object.entries(v).filter(([, x]) => x !== undefined);
}

function write(v: unknown, pretty: boolean, indent: string): string {
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
  const inner = `${indent}    `;
  if (Array.isArray(v)) {
    if (!pretty) return `[${v.map((x) => write(x, false, '')).join(', ')}]`;
    if (v.length === 0) return `[\n${indent}]`;
    return `[\n${v.map((x) => `${inner}${write(x, true, inner)}`).join(',\n')}\n${indent}]`;
  }
  const es = entries(v as object);
  const byKey = new Map(es);
  const keys = qdictOrder(es.map(([k]) => k));
  if (!pretty) return `{${keys.map((k) => `${quoteQemuString(k)}: ${write(byKey.get(k), false, '')}`).join(', ')}}`;
  if (keys.length === 0) return `{\n${indent}}`;
  return `{\n${keys.map((k) => `${inner}${quoteQemuString(k)}: ${write(byKey.get(k), true, inner)}`).join(',\n')}\n${indent}}`;
}

/**
 * QEMU's JSON text for a value: `", "` and `": "` separators, QEMU's QDict member order (from the
 * insertion order of objects and Maps), `%.17g` doubles, ASCII-only strings. Accepts QValues and
 * plain JS values (`undefined` members are left out); a {@link RawJson} is copied verbatim, also in
 * pretty mode (QEMU never pretty-prints such pre-serialized text here: it is a qmpkit shortcut).
 */
export function writeQemuJson(value: unknown, options: QemuWriteOptions = {}): string {
  return write(value, options.pretty ?? false, '');
}

/** A message as QEMU sends it: every `\n` becomes `\r\n`, and the message ends with `\r\n`. */
export function formatQemuMessage(value: unknown, options: QemuWriteOptions = {}): string {
  const text = writeQemuJson(value, options);
  return `${options.pretty ? text.replaceAll('\n', '\r\n') : text}\r\n`;
}
