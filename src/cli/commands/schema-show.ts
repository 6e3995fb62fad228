import type { QapiObjectType, QapiSchema, QapiType, QapiTypeRef } from '../../schema/index.js';

/** How a type is written where it is used: `str`, `[BlockInfo]`, `BlockdevDriver`. */
function ref(s: QapiSchema, r: QapiTypeRef): string {
  const t = s.type(r);
  if (t?.metaType === 'array') return `[${ref(s, t.elementType)}]`;
  return s.typeName(r);
}

function marks(features: readonly string[]): string {
  const shown = features.filter((f) => f === 'deprecated' || f === 'unstable');
  return shown.length === 0 ? '' : `  (${shown.join(', ')})`;
}

/** Types worth a paragraph of their own: objects with members, enums, alternates. */
function expandable(t: QapiType | undefined): boolean {
  if (t === undefined) return false;
  if (t.metaType === 'enum' || t.metaType === 'alternate') return true;
  return t.metaType === 'object' && (t.members.length > 0 || (t.variants ?? []).length > 0);
}

/** The named types `r` refers to directly (list elements looked through). */
function referenced(s: QapiSchema, r: QapiTypeRef | undefined): QapiTypeRef[] {
  if (r === undefined) return [];
  const t = s.type(r);
  if (t?.metaType === 'array') return referenced(s, t.elementType);
  return expandable(t) ? [r] : [];
}

function children(s: QapiSchema, t: QapiType): QapiTypeRef[] {
  if (t.metaType === 'object')
    return [
      ...t.members.flatMap((m) => referenced(s, m.type)),
      ...(t.variants ?? []).flatMap((v) => referenced(s, v.type)),
    ];
  if (t.metaType === 'alternate') return t.members.flatMap((m) => referenced(s, m.type));
  return [];
}

function memberLines(o: QapiObjectType, s: QapiSchema): string[] {
  return o.members.map((m) => `  ${m.name}${m.optional ? '?' : ''}: ${ref(s, m.type)}${marks(m.features)}`);
}

function typeParagraph(s: QapiSchema, r: QapiTypeRef): string[] {
  const t = s.type(r)!;
  const name = s.typeName(r);
  switch (t.metaType) {
    case 'enum':
      return [`${name}: enum${marks(t.features)}`, ...t.members.map((m) => `  '${m.name}'${marks(m.features)}`)];
    case 'alternate':
      return [`${name}: one of${marks(t.features)}`, ...t.members.map((m) => `  ${ref(s, m.type)}`)];
    case 'object': {
      const head = t.tag === undefined ? `${name}: object` : `${name}: object, by '${t.tag}'`;
      const lines = [`${head}${marks(t.features)}`, ...memberLines(t, s)];
      for (const v of t.variants ?? []) {
        const b = s.type(v.type);
        const empty = b?.metaType === 'object' && b.members.length === 0 && (b.variants ?? []).length === 0;
        lines.push(`  when ${t.tag} is '${v.case}': ${empty ? 'no more members' : `also ${ref(s, v.type)}`}`);
      }
      return lines;
    }
    default:
      return [`${name}: ${t.metaType}`];
  }
}

/**
 * A command's or event's arguments and return type as text: the top-level members, then every
 * object, union, enum and alternate they use, each once, breadth-first. Also describes a type by
 * its name. `undefined` when the schema has nothing of that name.
 */
export function describeSchemaEntry(s: QapiSchema, name: string): string | undefined {
  const lines: string[] = [];
  const queue: QapiTypeRef[] = [];
  const c = s.command(name);
  const e = c === undefined ? s.event(name) : undefined;
  const top = (label: string, r: QapiTypeRef | undefined): void => {
    const t = r === undefined ? undefined : s.type(r);
    if (t?.metaType === 'object' && t.members.length === 0 && (t.variants ?? []).length === 0) {
      lines.push(`${label}: none`);
      return;
    }
    if (t?.metaType === 'object' && (t.variants ?? []).length === 0) {
      lines.push(`${label}:`, ...memberLines(t, s));
      queue.push(...children(s, t));
      return;
    }
    lines.push(`${label}: ${r === undefined ? 'none' : ref(s, r)}`);
    queue.push(...referenced(s, r));
  };
  if (c !== undefined) {
    lines.push(`command ${c.name}${c.allowOob ? '  (allow-oob)' : ''}${marks(c.features)}`);
    top('arguments', c.argType);
    const ret = c.retType === undefined ? undefined : s.type(c.retType);
    const nothing = ret?.metaType === 'object' && ret.members.length === 0 && (ret.variants ?? []).length === 0;
    if (nothing || c.retType === undefined) lines.push('returns: nothing');
    else {
      lines.push(`returns: ${ref(s, c.retType)}`);
      queue.push(...referenced(s, c.retType));
    }
  } else if (e !== undefined) {
    lines.push(`event ${e.name}${marks(e.features)}`);
    top('data', e.argType);
  } else {
    const t = s.types().find((x) => expandable(x) && s.typeName(x.name) === name);
    if (t === undefined) return undefined;
    queue.push(t.name);
  }
  const seen = new Set<QapiTypeRef>();
  while (queue.length > 0) {
    const r = queue.shift()!;
    if (seen.has(r)) continue;
    seen.add(r);
    lines.push('', ...typeParagraph(s, r));
    queue.push(...children(s, s.type(r)!));
  }
  return `${lines.join('\n')}\n`;
}

/** Up to `max` command and event names that contain `name` (for "did you mean"). */
export function similarNames(s: QapiSchema, name: string, max = 5): string[] {
  const needle = name.toLowerCase().replace(/_/g, '-');
  return [...s.commandNames(), ...s.events().map((e) => e.name)]
    .filter((n) => n.toLowerCase().replace(/_/g, '-').includes(needle))
    .slice(0, max);
}
