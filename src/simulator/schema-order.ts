import type { QapiSchema, QapiTypeRef } from '../schema/index.js';

/**
 * Rebuilds `value` with object members in QAPI schema order (base members, then the branch of a
 * union), recursively, following the schema type `ref`. QEMU inserts struct members in that order,
 * and its output order (QDict buckets) depends on insertion order, so handlers can build results in
 * any order and still produce QEMU's bytes.
 */
export function orderBySchema(schema: QapiSchema, ref: QapiTypeRef | undefined, value: unknown): unknown {
  if (ref === undefined || value === null || typeof value !== 'object') return value;
  const t = schema.type(ref);
  if (t === undefined) return value;
  if (t.metaType === 'array') {
    return Array.isArray(value) ? value.map((v) => orderBySchema(schema, t.elementType, v)) : value;
  }
  if (t.metaType === 'alternate') {
    if (Array.isArray(value)) return value;
    const obj = t.members.find((m) => schema.type(m.type)?.metaType === 'object');
    return obj ? orderBySchema(schema, obj.type, value) : value;
  }
  if (t.metaType !== 'object' || Array.isArray(value)) return value;
  const src = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  // Runs once per reply and event: plain loops, no closures or entry arrays.
  for (const m of t.members) place(schema, out, src, m.name, m.type);
  if (t.tag !== undefined && t.variants) {
    const tag = src[t.tag];
    const v = t.variants.find((x) => x.case === tag);
    const branch = v ? schema.type(v.type) : undefined;
    if (branch?.metaType === 'object') for (const m of branch.members) place(schema, out, src, m.name, m.type);
  }
  // Members the schema does not know (none in a faithful handler) keep their place at the end.
  for (const k in src) {
    if (!Object.hasOwn(src, k) || k in out) continue;
    const x = src[k];
    if (x !== undefined) out[k] = x;
  }
  return out;
}

function place(
  schema: QapiSchema,
  out: Record<string, unknown>,
  src: Record<string, unknown>,
  name: string,
  type: QapiTypeRef,
): void {
  if (name in out) return;
  // A value found (own or inherited) means `name in src`; `undefined` members are left out.
  const x = src[name];
  if (x !== undefined) out[name] = orderBySchema(schema, type, x);
}
