import { QNum, type QValue } from '../wire/index.js';
import type { QmpNumberKind } from './types.js';

/**
 * A parsed value as handlers see it: objects become plain objects (keys set with defineProperty, so
 * a `__proto__` member stays data), numbers become `number`, or `bigint` beyond ±(2^53−1).
 * Recursion is bounded by the parser's nesting limit.
 */
export function toHandlerValue(v: QValue): unknown {
  if (v instanceof QNum) return v.toJs();
  if (Array.isArray(v)) return v.map(toHandlerValue);
  if (v instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of v)
      Object.defineProperty(out, k, { value: toHandlerValue(x), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return v;
}

/**
 * A parsed value as the schema validator wants it: null-prototype objects, numbers still wrapped
 * in `QNum` so the validator can tell `1.0` (a double) from `1`.
 */
export function toSchemaValue(v: QValue): unknown {
  if (Array.isArray(v)) return v.map(toSchemaValue);
  if (v instanceof Map) {
    const out: Record<string, unknown> = Object.create(null);
    for (const [k, x] of v) out[k] = toSchemaValue(x);
    return out;
  }
  return v;
}

/** The `numberKind` callback handed to the schema validator. */
export function numberKind(v: unknown): QmpNumberKind | undefined {
  return v instanceof QNum ? { kind: v.kind, value: v.value } : undefined;
}
