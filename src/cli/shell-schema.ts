import { QmpSchemaError } from '../errors/qmp-error.js';
import type { JsonObject, JsonValue } from '../wire/json-value.js';

/** JSON kinds a schema type accepts; `integer` also satisfies `number`, `any` takes everything. */
export type ShellJsonKind = 'string' | 'integer' | 'number' | 'boolean' | 'null' | 'object' | 'array' | 'any';

/** Whose arguments a `key=value` belongs to: a command's, or a transaction action's `data`. */
export interface ShellArgTarget {
  readonly kind: 'command' | 'action';
  readonly name: string;
}

/** What the schema says about one argument. */
export interface ShellTypeInfo {
  readonly kinds: ReadonlySet<ShellJsonKind>;
  /** Allowed strings when the type is (or includes) an enum. */
  readonly enumValues: readonly string[];
}

/** The part of a schema the shell's parser needs to type values. */
export interface ShellTyper {
  typeAt(target: ShellArgTarget, path: readonly string[], given?: JsonObject): ShellTypeInfo | undefined;
}

interface Member {
  readonly name: string;
  readonly type: string;
  readonly optional: boolean;
}

interface Variant {
  readonly case: string;
  readonly type: string;
}

type Entry =
  | { readonly meta: 'builtin'; readonly jsonType: string }
  | { readonly meta: 'enum'; readonly values: readonly string[] }
  | { readonly meta: 'array'; readonly element: string }
  | { readonly meta: 'alternate'; readonly members: readonly string[] }
  | {
      readonly meta: 'object';
      readonly members: readonly Member[];
      readonly tag: string | undefined;
      readonly variants: readonly Variant[];
    };

const BUILTIN_KINDS: Readonly<Record<string, ShellJsonKind>> = {
  string: 'string',
  int: 'integer',
  number: 'number',
  boolean: 'boolean',
  null: 'null',
  object: 'object',
  value: 'any',
};

const asObject = (v: JsonValue | undefined): JsonObject | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && typeof v !== 'bigint' ? v : undefined;
const asString = (v: JsonValue | undefined): string | undefined => (typeof v === 'string' ? v : undefined);
const asArray = (v: JsonValue | undefined): readonly JsonValue[] => (Array.isArray(v) ? v : []);

/**
 * The shell's view of a QAPI schema, built from `query-qmp-schema`'s reply: command names,
 * transaction action names, and for any argument path its JSON kinds, enum values and members.
 * It types `key=value` input and drives tab completion.
 */
export class ShellSchema implements ShellTyper {
  readonly #types = new Map<string, Entry>();
  readonly #commands = new Map<string, string>();
  readonly #actions = new Map<string, string>();

  private constructor() {}

  /** Builds the view from the entries `query-qmp-schema` returns. Throws `QmpSchemaError` on a non-array. */
  static fromIntrospection(entries: JsonValue): ShellSchema {
    if (!Array.isArray(entries)) throw new QmpSchemaError('query-qmp-schema did not return an array');
    const schema = new ShellSchema();
    for (const raw of entries) {
      const e = asObject(raw);
      const name = asString(e?.['name']);
      if (e === undefined || name === undefined) continue;
      switch (e['meta-type']) {
        case 'command':
          schema.#commands.set(name, asString(e['arg-type']) ?? '');
          break;
        case 'builtin':
          schema.#types.set(name, { meta: 'builtin', jsonType: asString(e['json-type']) ?? 'value' });
          break;
        case 'enum':
          schema.#types.set(name, {
            meta: 'enum',
            values: asArray(e['values']).filter((v): v is string => typeof v === 'string'),
          });
          break;
        case 'array':
          schema.#types.set(name, { meta: 'array', element: asString(e['element-type']) ?? '' });
          break;
        case 'alternate':
          schema.#types.set(name, {
            meta: 'alternate',
            members: asArray(e['members']).flatMap((m) => asString(asObject(m)?.['type']) ?? []),
          });
          break;
        case 'object':
          schema.#types.set(name, {
            meta: 'object',
            members: asArray(e['members']).flatMap((m): Member[] => {
              const o = asObject(m);
              const n = asString(o?.['name']);
              const t = asString(o?.['type']);
              return o && n !== undefined && t !== undefined ? [{ name: n, type: t, optional: 'default' in o }] : [];
            }),
            tag: asString(e['tag']),
            variants: asArray(e['variants']).flatMap((v): Variant[] => {
              const o = asObject(v);
              const c = asString(o?.['case']);
              const t = asString(o?.['type']);
              return c !== undefined && t !== undefined ? [{ case: c, type: t }] : [];
            }),
          });
          break;
      }
    }
    schema.#collectActions();
    return schema;
  }

  /** Transaction actions are a union tagged by `type` whose variants wrap the real arguments in `data`. */
  #collectActions(): void {
    const args = this.#object(this.#commands.get('transaction'));
    const actions = args?.members.find((m) => m.name === 'actions');
    const list = actions ? this.#types.get(actions.type) : undefined;
    const union = list?.meta === 'array' ? this.#object(list.element) : undefined;
    for (const v of union?.variants ?? []) {
      const data = this.#object(v.type)?.members.find((m) => m.name === 'data');
      if (data) this.#actions.set(v.case, data.type);
    }
  }

  #object(name: string | undefined): Extract<Entry, { meta: 'object' }> | undefined {
    const e = name === undefined ? undefined : this.#types.get(name);
    return e?.meta === 'object' ? e : undefined;
  }

  /** Every command name, sorted. */
  commandNames(): string[] {
    return [...this.#commands.keys()].sort();
  }

  /** True when the schema has this command. */
  hasCommand(name: string): boolean {
    return this.#commands.has(name);
  }

  /** Every transaction action type (`abort`, `blockdev-snapshot-sync`, ...), sorted. */
  actionNames(): string[] {
    return [...this.#actions.keys()].sort();
  }

  #root(target: ShellArgTarget): string | undefined {
    return target.kind === 'command' ? this.#commands.get(target.name) : this.#actions.get(target.name);
  }

  /** All members of an object type: base members plus those of its variants (only the chosen one when `tag` is known). */
  #members(typeName: string, given: JsonObject | undefined, depth = 0): Member[] {
    const e = this.#types.get(typeName);
    if (depth > 32 || e === undefined) return [];
    if (e.meta === 'alternate') return e.members.flatMap((m) => this.#members(m, given, depth + 1));
    if (e.meta !== 'object') return [];
    const out = [...e.members];
    const tagValue = e.tag === undefined ? undefined : given?.[e.tag];
    for (const v of e.variants) {
      if (typeof tagValue === 'string' && v.case !== tagValue) continue;
      for (const m of this.#members(v.type, given, depth + 1)) {
        if (!out.some((o) => o.name === m.name)) out.push(m);
      }
    }
    return out;
  }

  #resolve(target: ShellArgTarget, path: readonly string[], given?: JsonObject): string | undefined {
    let type = this.#root(target);
    let here = given;
    for (const seg of path) {
      if (type === undefined) return undefined;
      type = this.#members(type, here).find((m) => m.name === seg)?.type;
      const next = here?.[seg];
      here = asObject(next);
    }
    return type;
  }

  #info(typeName: string, depth = 0): { kinds: Set<ShellJsonKind>; enumValues: string[] } {
    const out = { kinds: new Set<ShellJsonKind>(), enumValues: [] as string[] };
    const e = this.#types.get(typeName);
    if (e === undefined || depth > 32) {
      out.kinds.add('any');
      return out;
    }
    switch (e.meta) {
      case 'builtin':
        out.kinds.add(BUILTIN_KINDS[e.jsonType] ?? 'any');
        break;
      case 'enum':
        out.kinds.add('string');
        out.enumValues.push(...e.values);
        break;
      case 'array':
        out.kinds.add('array');
        break;
      case 'object':
        out.kinds.add('object');
        break;
      case 'alternate':
        for (const m of e.members) {
          const sub = this.#info(m, depth + 1);
          for (const k of sub.kinds) out.kinds.add(k);
          out.enumValues.push(...sub.enumValues);
        }
        break;
    }
    return out;
  }

  /** Kinds and enum values of the argument at `path` (`['options', 'driver']`), or undefined when unknown. */
  typeAt(target: ShellArgTarget, path: readonly string[], given?: JsonObject): ShellTypeInfo | undefined {
    const type = this.#resolve(target, path, given);
    return type === undefined ? undefined : this.#info(type);
  }

  /**
   * Names of the members of the object at `path` (`[]` for the arguments themselves). `given` is what
   * the line already sets, so a union shows only the members of the branch its tag selects.
   */
  memberNames(target: ShellArgTarget, path: readonly string[], given?: JsonObject): string[] {
    const type = this.#resolve(target, path, given);
    if (type === undefined) return [];
    let here = given;
    for (const seg of path) here = asObject(here?.[seg]);
    return this.#members(type, here).map((m) => m.name);
  }

  /** True when the member at `path` is optional (has a default), false when required, undefined when unknown. */
  isOptional(target: ShellArgTarget, path: readonly string[]): boolean | undefined {
    const parent = this.#resolve(target, path.slice(0, -1));
    const last = path[path.length - 1];
    if (parent === undefined || last === undefined) return undefined;
    return this.#members(parent, undefined).find((m) => m.name === last)?.optional;
  }
}
