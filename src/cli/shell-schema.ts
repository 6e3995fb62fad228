import {
  type QapiJsonType,
  type QapiMember,
  type QapiObjectType,
  QapiSchema,
  type QapiTypeRef,
} from '../schema/index.js';
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
  /** The transaction action types the schema knows; without it, any action is taken as typed. */
  actionNames?(): string[];
}

const BUILTIN_KINDS: Readonly<Record<QapiJsonType, ShellJsonKind>> = {
  string: 'string',
  int: 'integer',
  number: 'number',
  boolean: 'boolean',
  null: 'null',
  object: 'object',
  array: 'array',
  value: 'any',
};

const asObject = (v: JsonValue | undefined): JsonObject | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && typeof v !== 'bigint' ? v : undefined;

/**
 * The shell's view of a QAPI schema (`qmpkit/schema`'s `QapiSchema`, usually from the connected
 * QEMU's `query-qmp-schema`): command names, transaction action names, and for any argument path
 * its JSON kinds, enum values and members. It types `key=value` input and drives tab completion.
 */
export class ShellSchema implements ShellTyper {
  readonly #schema: QapiSchema;
  readonly #actions = new Map<string, QapiTypeRef>();

  private constructor(schema: QapiSchema) {
    this.#schema = schema;
    this.#collectActions();
  }

  /** Wraps a schema model. */
  static fromQapiSchema(schema: QapiSchema): ShellSchema {
    return new ShellSchema(schema);
  }

  /** Builds the view from `query-qmp-schema`'s reply. Throws `QmpSchemaError` when it is malformed. */
  static fromIntrospection(entries: JsonValue): ShellSchema {
    return new ShellSchema(QapiSchema.fromIntrospection(entries));
  }

  /** Transaction actions are a union tagged by `type` whose variants wrap the real arguments in `data`. */
  #collectActions(): void {
    const args = this.#object(this.#schema.command('transaction')?.argType);
    const actions = args?.members.find((m) => m.name === 'actions');
    const list = actions === undefined ? undefined : this.#schema.type(actions.type);
    const union = list?.metaType === 'array' ? this.#object(list.elementType) : undefined;
    for (const v of union?.variants ?? []) {
      const data = this.#object(v.type)?.members.find((m) => m.name === 'data');
      if (data !== undefined) this.#actions.set(v.case, data.type);
    }
  }

  #object(ref: QapiTypeRef | undefined): QapiObjectType | undefined {
    const t = ref === undefined ? undefined : this.#schema.type(ref);
    return t?.metaType === 'object' ? t : undefined;
  }

  /** Every command name, sorted. */
  commandNames(): string[] {
    return this.#schema.commandNames();
  }

  /** True when the schema has this command. */
  hasCommand(name: string): boolean {
    return this.#schema.command(name) !== undefined;
  }

  /** Every transaction action type (`abort`, `blockdev-snapshot-sync`, ...), sorted. */
  actionNames(): string[] {
    return [...this.#actions.keys()].sort();
  }

  #root(target: ShellArgTarget): QapiTypeRef | undefined {
    return target.kind === 'command' ? this.#schema.command(target.name)?.argType : this.#actions.get(target.name);
  }

  /** All members of an object type: its members plus those of its variants (only the chosen one when the tag is known). */
  #members(ref: QapiTypeRef, given: JsonObject | undefined, depth = 0): QapiMember[] {
    const t = this.#schema.type(ref);
    if (depth > 32 || t === undefined) return [];
    if (t.metaType === 'alternate') return t.members.flatMap((m) => this.#members(m.type, given, depth + 1));
    if (t.metaType !== 'object') return [];
    const out = [...t.members];
    const tagValue = t.tag === undefined ? undefined : given?.[t.tag];
    for (const v of t.variants ?? []) {
      if (typeof tagValue === 'string' && v.case !== tagValue) continue;
      for (const m of this.#members(v.type, given, depth + 1)) {
        if (!out.some((o) => o.name === m.name)) out.push(m);
      }
    }
    return out;
  }

  #resolve(target: ShellArgTarget, path: readonly string[], given?: JsonObject): QapiTypeRef | undefined {
    let type = this.#root(target);
    let here = given;
    for (const seg of path) {
      if (type === undefined) return undefined;
      type = this.#members(type, here).find((m) => m.name === seg)?.type;
      here = asObject(here?.[seg]);
    }
    return type;
  }

  #info(ref: QapiTypeRef, depth = 0): { kinds: Set<ShellJsonKind>; enumValues: string[] } {
    const out = { kinds: new Set<ShellJsonKind>(), enumValues: [] as string[] };
    const t = this.#schema.type(ref);
    if (t === undefined || depth > 32) {
      out.kinds.add('any');
      return out;
    }
    switch (t.metaType) {
      case 'builtin':
        out.kinds.add(BUILTIN_KINDS[t.jsonType]);
        break;
      case 'enum':
        out.kinds.add('string');
        out.enumValues.push(...t.members.map((m) => m.name));
        break;
      case 'array':
        out.kinds.add('array');
        break;
      case 'object':
        out.kinds.add('object');
        break;
      case 'alternate':
        for (const m of t.members) {
          const sub = this.#info(m.type, depth + 1);
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
}
