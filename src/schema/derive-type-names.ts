import type { QapiCommand, QapiEvent, QapiType, QapiTypeRef } from './qapi-type.js';

/** What naming needs from a schema. */
export interface QapiNamingSource {
  type(name: QapiTypeRef): QapiType | undefined;
  commands(): readonly QapiCommand[];
  events(): readonly QapiEvent[];
  types(): readonly QapiType[];
}

/** `blockdev-add` → `BlockdevAdd`, `BLOCK_IO_ERROR` → `BlockIoError`, `tray_open` → `TrayOpen`. */
export function pascalCase(name: string): string {
  const lower = /[a-z]/.test(name) ? name : name.toLowerCase();
  return lower
    .split(/[^A-Za-z0-9]+/)
    .filter((p) => p !== '')
    .map((p) => p[0]!.toUpperCase() + p.slice(1))
    .join('');
}

/** True for names introspection makes up (`"49"`), which mean nothing to a reader. */
export function isNumberedName(name: string): boolean {
  return /^[0-9]+$/.test(name);
}

/** True when a type needs a name of its own in generated code (objects with members, enums, alternates). */
export function isNamedKind(t: QapiType): boolean {
  if (t.metaType === 'enum' || t.metaType === 'alternate') return true;
  if (t.metaType !== 'object') return false;
  return t.members.length > 0 || (t.variants !== undefined && t.variants.length > 0);
}

/**
 * The longest run of hyphen/underscore-separated words every one of `names` contains
 * (`block-dirty-bitmap` for `block-dirty-bitmap-clear` and `x-debug-block-dirty-bitmap-sha256`).
 */
function commonWords(names: readonly string[]): string | undefined {
  const split = names.map((n) => `-${n.split(/[-_]/).join('-')}-`);
  const words = names[0]!.split(/[-_]/);
  for (let len = words.length; len > 0; len--)
    for (let start = 0; start + len <= words.length; start++) {
      const run = words.slice(start, start + len).join('-');
      if (split.every((n) => n.includes(`-${run}-`))) return run;
    }
  return undefined;
}

/** The name a command's return type is known by: `query-status` → `StatusInfo`, `blockdev-add` → `BlockdevAddResult`. */
function returnContext(command: string): string {
  return command.startsWith('query-') && command.length > 6
    ? `${pascalCase(command.slice(6))}Info`
    : `${pascalCase(command)}Result`;
}

/**
 * Readable, stable names for the types of a schema. Types that have a real name (QAPI source, or
 * builtins) keep it; types introspection only numbered, and QAPI's implicit types, are named after
 * the first place a breadth-first walk meets them: commands by name (`BlockdevAddArguments`,
 * `StatusInfo` for `query-status`), then events (`BlockIoErrorData`), then members
 * (`BlockdevAddArgumentsCache`) and union branches (`BlockdevAddArgumentsQcow2`). The walk depends
 * only on command, event, member and branch names, so renumbering the input changes nothing.
 */
export function deriveTypeNames(schema: QapiNamingSource): Map<QapiTypeRef, string> {
  const names = new Map<QapiTypeRef, string>();
  const taken = new Set<string>();
  const needsName = (t: QapiType): boolean =>
    isNamedKind(t) && (isNumberedName(t.name) || (t.metaType === 'object' && t.implicit === true));
  for (const t of schema.types()) {
    if (!needsName(t)) {
      names.set(t.name, t.name);
      taken.add(t.name);
    }
  }
  const queue: { ref: QapiTypeRef; context: string }[] = [];
  // Breadth-first, the first entry of a type decides its name: a type already queued is not queued
  // again, which spares building the names of contexts that would never be used.
  const queued = new Set<QapiTypeRef>();
  const push = (ref: QapiTypeRef, context: string): void => {
    queued.add(ref);
    queue.push({ ref, context });
  };
  const pascal = new Map<string, string>();
  const pc = (name: string): string => {
    let p = pascal.get(name);
    if (p === undefined) pascal.set(name, (p = pascalCase(name)));
    return p;
  };
  const commands = [...schema.commands()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const events = [...schema.events()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // A type several commands share is named after what their names have in common
  // (block-dirty-bitmap-{clear,enable,disable,remove} → BlockDirtyBitmapArguments).
  const sharers = new Map<string, string[]>();
  const share = (key: string, name: string): void => {
    const list = sharers.get(key);
    if (list === undefined) sharers.set(key, [name]);
    else list.push(name);
  };
  for (const c of commands) {
    if (c.argType !== undefined) share(`arguments:${c.argType}`, c.name);
    if (c.retType !== undefined) share(`returns:${c.retType}`, c.name);
  }
  for (const e of events) if (e.argType !== undefined) share(`data:${e.argType}`, e.name);
  // Many commands share one type (every command without a result returns the same empty object):
  // what their names have in common is worked out once per type.
  const common = new Map<string, string | undefined>();
  const shared = (key: string, own: string): string => {
    const names = sharers.get(key) ?? [];
    if (names.length < 2) return own;
    if (!common.has(key)) common.set(key, commonWords(names));
    return common.get(key) ?? own;
  };
  for (const c of commands) {
    if (c.argType !== undefined && !queued.has(c.argType))
      push(c.argType, `${pascalCase(shared(`arguments:${c.argType}`, c.name))}Arguments`);
    if (c.retType !== undefined && !queued.has(c.retType))
      push(c.retType, returnContext(shared(`returns:${c.retType}`, c.name)));
  }
  for (const e of events)
    if (e.argType !== undefined && !queued.has(e.argType))
      push(e.argType, `${pascalCase(shared(`data:${e.argType}`, e.name))}Data`);
  const seen = new Set<QapiTypeRef>();
  for (let i = 0; i < queue.length; i++) {
    const { ref, context } = queue[i]!;
    if (seen.has(ref)) continue;
    seen.add(ref);
    const t = schema.type(ref);
    if (t === undefined) continue;
    let here = context;
    if (needsName(t) && !names.has(ref)) {
      let candidate = context === '' ? 'Unnamed' : context;
      for (let n = 2; taken.has(candidate); n++) candidate = `${context}${n}`;
      names.set(ref, candidate);
      taken.add(candidate);
      here = candidate;
    } else if (names.has(ref)) {
      here = names.get(ref)!;
    }
    switch (t.metaType) {
      case 'array':
        if (!queued.has(t.elementType)) push(t.elementType, context);
        break;
      case 'object':
        for (const m of t.members) if (!queued.has(m.type)) push(m.type, `${here}${pc(m.name)}`);
        for (const v of t.variants ?? []) if (!queued.has(v.type)) push(v.type, `${here}${pc(v.case)}`);
        break;
      case 'alternate':
        for (const m of t.members) {
          if (queued.has(m.type)) continue;
          const kind = schema.type(m.type)?.metaType;
          const suffix =
            kind === 'enum' ? 'Enum' : kind === 'array' ? 'List' : kind === 'alternate' ? 'Alternate' : 'Object';
          push(m.type, `${here}${m.name === undefined ? suffix : pc(m.name)}`);
        }
        break;
      default:
        break;
    }
  }
  // Types no command or event reaches (possible in QAPI source): named after their own name.
  const rest = schema
    .types()
    .filter((t) => needsName(t) && !names.has(t.name))
    .map((t) => t.name)
    .sort();
  for (const ref of rest) {
    const base = isNumberedName(ref) ? `Type${ref}` : pascalCase(ref.replace(/^q_obj_/, ''));
    let candidate = base;
    for (let n = 2; taken.has(candidate); n++) candidate = `${base}${n}`;
    names.set(ref, candidate);
    taken.add(candidate);
  }
  return names;
}
