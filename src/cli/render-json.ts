import type { JsonValue } from '../wire/json-value.js';

/** How to lay out JSON for people and pipes. */
export interface RenderJsonOptions {
  /**
   * `compact`: one line, no spaces (for `exec`, `events` and pipes into jq).
   * `spaced`: one line with `", "` and `": "` like Python's `json.dumps` (what qmp-shell prints).
   * `pretty`: one member per line, indented by `indent`.
   */
  readonly style?: 'compact' | 'spaced' | 'pretty';
  /** Spaces per level for `pretty` (qmp-shell uses 4). */
  readonly indent?: number;
  /** Sort object members by name (qmp-shell does with `-p`). */
  readonly sortKeys?: boolean;
}

function scalar(value: JsonValue): string | undefined {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'bigint':
      return value.toString();
    case 'number':
      // QEMU prints non-finite doubles as inf/-inf/nan; show what it sent rather than inventing null.
      if (Number.isNaN(value)) return 'nan';
      if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
      return Object.is(value, -0) ? '-0' : String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    default:
      return undefined;
  }
}

/**
 * Renders a decoded QMP value as JSON text: integers beyond 2^53 (bigint) exactly, QEMU's
 * `inf`/`nan` tokens as they came, and the layout of `options.style`.
 */
export function renderJson(value: JsonValue, options: RenderJsonOptions = {}): string {
  const style = options.style ?? 'compact';
  const indentUnit = ' '.repeat(options.indent ?? 2);
  const comma = style === 'spaced' ? ', ' : ',';
  const colon = style === 'compact' ? ':' : ': ';
  // Iteration depth is bounded by the decoder's nesting limit, so recursion is safe here.
  const walk = (v: JsonValue, indent: string): string => {
    const s = scalar(v);
    if (s !== undefined) return s;
    const inner = indent + indentUnit;
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      const items = v.map((x) => walk(x, inner));
      return style === 'pretty' ? `[\n${inner}${items.join(`,\n${inner}`)}\n${indent}]` : `[${items.join(comma)}]`;
    }
    const obj = v as Record<string, JsonValue>;
    let keys = Object.keys(obj);
    if (options.sortKeys) keys = keys.sort();
    if (keys.length === 0) return '{}';
    const members = keys.map((k) => `${JSON.stringify(k)}${colon}${walk(obj[k] ?? null, inner)}`);
    return style === 'pretty' ? `{\n${inner}${members.join(`,\n${inner}`)}\n${indent}}` : `{${members.join(comma)}}`;
  };
  return walk(value, '');
}
