import type { QapiSchema } from './qapi-schema.js';
import type { QapiType, QapiTypeRef } from './qapi-type.js';

/** A type of the old schema and the type of the new one found in the same place. */
export interface QapiTypePair {
  readonly a: QapiTypeRef;
  readonly b: QapiTypeRef;
  /** Clients send values of it (command arguments). */
  input: boolean;
  /** Clients receive values of it (returns, event data). */
  output: boolean;
}

/**
 * What a type is, for matching: a builtin by its name, a list by its element, anything else by its
 * meta-type. Two types of the same kind in the same place are the same type, whatever their names.
 */
export function typeKind(s: QapiSchema, ref: QapiTypeRef, depth = 0): string {
  const t = s.type(ref);
  if (t === undefined) return `?${ref}`;
  if (t.metaType === 'builtin') return t.name;
  if (t.metaType === 'array') return depth > 16 ? '[]' : `[${typeKind(s, t.elementType, depth + 1)}]`;
  return t.metaType;
}

/**
 * Pairs the types of two schemas by where they are used, walking from every command and event
 * both have: arguments with arguments, a member with the same-named member, a union branch with the
 * same case, list elements, alternatives of the same kind. Introspection numbers its types and
 * qmpkit derives readable names from their first use, which can move between releases; the place a
 * type is used does not. Each pair records whether clients send it, receive it, or both.
 */
export function pairTypes(a: QapiSchema, b: QapiSchema): QapiTypePair[] {
  const pairs = new Map<string, QapiTypePair>();
  const walk = (ra: QapiTypeRef | undefined, rb: QapiTypeRef | undefined, dir: 'input' | 'output'): void => {
    const stack: Array<[QapiTypeRef, QapiTypeRef]> = ra === undefined || rb === undefined ? [] : [[ra, rb]];
    while (stack.length > 0) {
      const [x, y] = stack.pop()!;
      if (typeKind(a, x) !== typeKind(b, y)) continue;
      const key = `${x}\u0000${y}`;
      let p = pairs.get(key);
      if (p?.[dir]) continue;
      if (p === undefined) {
        p = { a: x, b: y, input: false, output: false };
        pairs.set(key, p);
      }
      p[dir] = true;
      const ta = a.type(x) as QapiType;
      const tb = b.type(y) as QapiType;
      if (ta.metaType === 'array' && tb.metaType === 'array') stack.push([ta.elementType, tb.elementType]);
      else if (ta.metaType === 'alternate' && tb.metaType === 'alternate') {
        for (const m of ta.members) {
          const k = typeKind(a, m.type);
          const n = tb.members.find((o) => typeKind(b, o.type) === k);
          if (n !== undefined) stack.push([m.type, n.type]);
        }
      } else if (ta.metaType === 'object' && tb.metaType === 'object') {
        for (const m of ta.members) {
          const n = tb.members.find((o) => o.name === m.name);
          if (n !== undefined) stack.push([m.type, n.type]);
        }
        for (const v of ta.variants ?? []) {
          const w = tb.variants?.find((o) => o.case === v.case);
          if (w !== undefined) stack.push([v.type, w.type]);
        }
      }
    }
  };
  for (const ca of a.commands()) {
    const cb = b.command(ca.name);
    if (cb === undefined) continue;
    walk(ca.argType, cb.argType, 'input');
    walk(ca.retType, cb.retType, 'output');
  }
  for (const ea of a.events()) {
    const eb = b.event(ea.name);
    if (eb !== undefined) walk(ea.argType, eb.argType, 'output');
  }
  return [...pairs.values()];
}
