// How the validator's friendlier messages show a value and a list of allowed names.
import type { QapiNumberKind } from './qapi-numbers.js';

/** A value as a message shows it: numbers as QEMU holds them, long strings cut short. */
export function render(v: unknown, kindOf: (v: unknown) => QapiNumberKind | undefined): string {
  const n = kindOf(v);
  if (n !== undefined) return String(n.value);
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  if (v === undefined) return 'nothing';
  return String(v);
}

/** Names quoted and comma-separated, at most `max` of them. */
export function listOf(names: readonly string[], max = 8): string {
  const shown = names.slice(0, max).map((n) => JSON.stringify(n));
  return names.length > max ? `${shown.join(', ')}, ... (${names.length} in all)` : shown.join(', ');
}
