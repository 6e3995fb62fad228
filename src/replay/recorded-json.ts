import { formatDouble, quoteQemuString, RawJson } from '../wire/index.js';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function write(v: unknown, pretty: boolean, indent: string): string {
  switch (typeof v) {
    case 'string':
      return quoteQemuString(v);
    case 'number':
      return Number.isSafeInteger(v) ? String(v) : formatDouble(v);
    case 'bigint':
      return v.toString();
    case 'boolean':
      return v ? 'true' : 'false';
    default:
      break;
  }
  if (v === null || v === undefined) return 'null';
  const inner = `${indent}    `;
  if (Array.isArray(v)) {
    if (!pretty) return `[${v.map((x) => write(x, false, '')).join(', ')}]`;
    if (v.length === 0) return `[\n${indent}]`;
    return `[\n${v.map((x) => `${inner}${write(x, true, inner)}`).join(',\n')}\n${indent}]`;
  }
  if (!isRecord(v)) return 'null';
  const keys = Object.keys(v);
  const member = (k: string, p: boolean, i: string): string => `${quoteQemuString(k)}: ${write(v[k], p, i)}`;
  if (!pretty) return `{${keys.map((k) => member(k, false, '')).join(', ')}}`;
  if (keys.length === 0) return `{\n${indent}}`;
  return `{\n${keys.map((k) => `${inner}${member(k, true, inner)}`).join(',\n')}\n${indent}}`;
}

/**
 * A recorded value as QEMU wrote it, for the server to copy verbatim: the members in the order they
 * were received (QEMU's own output order, which re-sorting could not rebuild: it depends on the
 * order QEMU inserted them), QEMU's separators, strings and numbers, and its `pretty=on` layout
 * starting at `indent`. Recursion is bounded by the nesting limit of the recording's decoder.
 */
export function recordedJson(value: unknown, pretty: boolean, indent = ''): RawJson {
  return new RawJson(write(value, pretty, indent));
}
