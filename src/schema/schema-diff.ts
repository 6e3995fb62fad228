import type { QapiSchema } from './qapi-schema.js';
import type { QapiTypeRef } from './qapi-type.js';
import { pairTypes, typeKind } from './schema-diff-pairs.js';

/** What a change touches. */
export type SchemaChangeEntity = 'command' | 'event' | 'type' | 'member' | 'enum-value' | 'branch' | 'alternative';

/**
 * What happened to it: added, removed, changed (type, optional/required, meta-type, features),
 * or newly marked with the `deprecated` or `unstable` feature.
 */
export type SchemaChangeKind = 'added' | 'removed' | 'changed' | 'deprecated' | 'unstable';

/** One difference between two schemas. */
export interface SchemaChange {
  readonly kind: SchemaChangeKind;
  readonly entity: SchemaChangeEntity;
  /**
   * What changed: a command or event name, a type name, or `Type.member` / `Type 'value'` for a
   * member, enum value, union branch or alternative. Type names are QEMU's where the schema has them,
   * else the readable names derived from where a type is used (see `QapiSchema.typeName`).
   */
  readonly name: string;
  /** For `changed`: what changed, e.g. `type str -> StrOrNull`, `optional -> required`. */
  readonly detail?: string;
  /** True when a client written for the old schema could break: it may use what was removed or changed. */
  readonly breaking: boolean;
}

/** The differences from schema `a` (old) to schema `b` (new). */
export interface SchemaDiff {
  /** Every change, breaking ones first, then by entity and name. */
  readonly changes: readonly SchemaChange[];
  /** How many of `changes` are breaking for clients. */
  readonly breaking: number;
}

const ENTITY_ORDER: readonly SchemaChangeEntity[] = [
  'command',
  'event',
  'type',
  'member',
  'enum-value',
  'branch',
  'alternative',
];

/** A type reference as a reader knows it: `[BlockDeviceInfo]` for a list, builtins by their name. */
function refName(s: QapiSchema, ref: QapiTypeRef): string {
  const t = s.type(ref);
  if (t?.metaType === 'array') return `[${refName(s, t.elementType)}]`;
  if (t?.metaType === 'object' && t.members.length === 0 && (t.variants ?? []).length === 0) return '{}';
  return s.typeName(ref);
}

/**
 * Whether a value of the old type is still a value of the new one, for a client that sends it: the
 * same kind, or an alternate that also takes the old kind (QAPI's compatible widening).
 */
function widens(a: QapiSchema, b: QapiSchema, from: QapiTypeRef, to: QapiTypeRef): boolean {
  const t = b.type(to);
  const k = typeKind(a, from);
  return t?.metaType === 'alternate' && t.members.some((m) => typeKind(b, m.type) === k);
}

/**
 * Compares two schemas as a client sees them: commands, events, object members, enum values, union
 * branches and alternatives added, removed or changed, and what became deprecated or unstable. Each
 * change says whether it can break a client written for `a`: anything removed, a type change, a
 * member that became required where clients send it (arguments) or optional where they read it
 * (returns, event data), a new required argument, a command that lost `allow-oob`.
 *
 * Types are compared where they are used (the same member of the same command or event in both),
 * not by name, so the numbering of introspection does not matter. Types used only by commands or
 * events that one side lacks are not compared: the command or event itself is reported.
 */
export function diffSchemas(a: QapiSchema, b: QapiSchema): SchemaDiff {
  const out: SchemaChange[] = [];
  const push = (c: SchemaChange): void => {
    out.push(c);
  };
  const marked = (entity: SchemaChangeEntity, name: string, fb: readonly string[], emit = push): void => {
    for (const f of ['deprecated', 'unstable'] as const)
      if (fb.includes(f)) emit({ kind: f, entity, name, breaking: false });
  };
  const features = (
    entity: SchemaChangeEntity,
    name: string,
    fa: readonly string[],
    fb: readonly string[],
    emit = push,
  ): void => {
    for (const f of fb) {
      if (fa.includes(f)) continue;
      if (f === 'deprecated' || f === 'unstable') emit({ kind: f, entity, name, breaking: false });
      else emit({ kind: 'changed', entity, name, detail: `feature '${f}' added`, breaking: false });
    }
    for (const f of fa)
      if (!fb.includes(f)) emit({ kind: 'changed', entity, name, detail: `feature '${f}' removed`, breaking: false });
  };
  /** The change of type at `name` (a member, or a command's arguments or returns), if any. */
  const retyped = (
    entity: SchemaChangeEntity,
    name: string,
    what: string,
    from: QapiTypeRef,
    to: QapiTypeRef,
    input: boolean,
    output: boolean,
  ): SchemaChange | undefined => {
    const kf = typeKind(a, from);
    const kt = typeKind(b, to);
    if (kf === kt) return undefined;
    // On the wire an enum is a string: str -> enum is invisible to readers, enum -> str to senders.
    const compatible =
      (input && !output && (widens(a, b, from, to) || (kt === 'str' && kf === 'enum'))) ||
      (output && !input && kf === 'str' && kt === 'enum');
    return {
      kind: 'changed',
      entity,
      name,
      detail: `${what}${refName(a, from)} -> ${refName(b, to)}`,
      breaking: !compatible,
    };
  };

  for (const ca of a.commands()) {
    const cb = b.command(ca.name);
    if (cb === undefined) {
      push({ kind: 'removed', entity: 'command', name: ca.name, breaking: true });
      continue;
    }
    for (const c of [
      ca.argType === undefined || cb.argType === undefined
        ? undefined
        : retyped('command', ca.name, 'arguments ', ca.argType, cb.argType, true, false),
      ca.retType === undefined || cb.retType === undefined
        ? undefined
        : retyped('command', ca.name, 'returns ', ca.retType, cb.retType, false, true),
    ])
      if (c !== undefined) push(c);
    if (ca.allowOob !== cb.allowOob)
      push({
        kind: 'changed',
        entity: 'command',
        name: ca.name,
        detail: cb.allowOob ? 'allow-oob added' : 'allow-oob removed',
        breaking: !cb.allowOob,
      });
    features('command', ca.name, ca.features, cb.features);
  }
  for (const cb of b.commands())
    if (a.command(cb.name) === undefined) {
      push({ kind: 'added', entity: 'command', name: cb.name, breaking: false });
      marked('command', cb.name, cb.features);
    }
  for (const ea of a.events()) {
    const eb = b.event(ea.name);
    if (eb === undefined) push({ kind: 'removed', entity: 'event', name: ea.name, breaking: true });
    else features('event', ea.name, ea.features, eb.features);
  }
  for (const eb of b.events())
    if (a.event(eb.name) === undefined) {
      push({ kind: 'added', entity: 'event', name: eb.name, breaking: false });
      marked('event', eb.name, eb.features);
    }

  // The same type can be reached through several pairs; each change is reported once.
  const seen = new Set<string>();
  const once = (c: SchemaChange): void => {
    const key = `${c.kind}|${c.entity}|${c.name}|${c.detail ?? ''}`;
    if (seen.has(key)) return;
    seen.add(key);
    push(c);
  };
  for (const { a: ra, b: rb, input, output } of pairTypes(a, b)) {
    const x = a.type(ra);
    const y = b.type(rb);
    if (x === undefined || y === undefined || x.metaType === 'builtin' || x.metaType === 'array') continue;
    const name = refName(b, rb);
    features('type', name, x.features, y.features, once);
    if (x.metaType === 'enum' && y.metaType === 'enum') {
      for (const v of x.members) {
        const w = y.members.find((m) => m.name === v.name);
        const vn = `${name} '${v.name}'`;
        if (w === undefined) once({ kind: 'removed', entity: 'enum-value', name: vn, breaking: true });
        else features('enum-value', vn, v.features, w.features, once);
      }
      for (const w of y.members)
        if (!x.members.some((m) => m.name === w.name)) {
          once({ kind: 'added', entity: 'enum-value', name: `${name} '${w.name}'`, breaking: false });
          marked('enum-value', `${name} '${w.name}'`, w.features, once);
        }
    } else if (x.metaType === 'alternate' && y.metaType === 'alternate') {
      const xs = x.members.map((m) => typeKind(a, m.type));
      for (const m of y.members)
        if (!xs.includes(typeKind(b, m.type)))
          once({ kind: 'added', entity: 'alternative', name: `${name} ${refName(b, m.type)}`, breaking: output });
      const ys = y.members.map((m) => typeKind(b, m.type));
      for (const m of x.members)
        if (!ys.includes(typeKind(a, m.type)))
          once({ kind: 'removed', entity: 'alternative', name: `${name} ${refName(a, m.type)}`, breaking: true });
    } else if (x.metaType === 'object' && y.metaType === 'object') {
      for (const m of x.members) {
        const n = y.members.find((k) => k.name === m.name);
        const mn = `${name}.${m.name}`;
        if (n === undefined) {
          once({ kind: 'removed', entity: 'member', name: mn, breaking: true });
          continue;
        }
        const c = retyped('member', mn, 'type ', m.type, n.type, input, output);
        if (c !== undefined) once(c);
        if (m.optional && !n.optional)
          once({ kind: 'changed', entity: 'member', name: mn, detail: 'optional -> required', breaking: input });
        if (!m.optional && n.optional)
          once({ kind: 'changed', entity: 'member', name: mn, detail: 'required -> optional', breaking: output });
        features('member', mn, m.features, n.features, once);
      }
      for (const n of y.members)
        if (!x.members.some((k) => k.name === n.name)) {
          const mn = `${name}.${n.name}`;
          once({
            kind: 'added',
            entity: 'member',
            name: mn,
            ...(n.optional ? {} : { detail: 'required' }),
            breaking: !n.optional && input,
          });
          marked('member', mn, n.features, once);
        }
      const vx = x.variants ?? [];
      const vy = y.variants ?? [];
      for (const v of vx)
        if (!vy.some((k) => k.case === v.case))
          once({ kind: 'removed', entity: 'branch', name: `${name} '${v.case}'`, breaking: true });
      for (const v of vy)
        if (!vx.some((k) => k.case === v.case))
          once({ kind: 'added', entity: 'branch', name: `${name} '${v.case}'`, breaking: false });
    }
  }

  out.sort(
    (p, q) =>
      Number(q.breaking) - Number(p.breaking) ||
      ENTITY_ORDER.indexOf(p.entity) - ENTITY_ORDER.indexOf(q.entity) ||
      (p.name < q.name ? -1 : p.name > q.name ? 1 : 0),
  );
  return { changes: out, breaking: out.filter((c) => c.breaking).length };
}
