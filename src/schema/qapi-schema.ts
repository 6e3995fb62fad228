import { QmpSchemaError } from '../errors/index.js';
import { deriveTypeNames, isNumberedName } from './derive-type-names.js';
import { parseIntrospection, type QapiDefinitions } from './parse-introspection.js';
import type { QapiCommand, QapiEvent, QapiObjectType, QapiSchemaOrigin, QapiType, QapiTypeRef } from './qapi-type.js';
import { type QapiValidateOptions, type QapiValidationIssue, QapiValidator } from './qapi-validator.js';
import { readQapiSource } from './read-qapi-source.js';

/**
 * Facts introspection leaves out, supplied by who knows them (e.g. the tables for QEMU 7.2 that
 * ship with qmpkit, measured on the real binary). Types are keyed by their derived name (see
 * {@link QapiSchema.typeName}), which does not depend on introspection's numbering.
 */
export interface QapiIntrospectionHints {
  types?: Readonly<
    Record<
      string,
      {
        /** QEMU's real name (used in error texts such as "expected: BlockdevRef"). */
        name?: string;
        /** Member name → exact type (`uint8`, `size`, `[uint16]`, ...) where introspection says `int`. */
        members?: Readonly<Record<string, QapiTypeRef>>;
      }
    >
  >;
  /** Command facts: `'gen': false` and `allow-preconfig`. */
  commands?: Readonly<Record<string, { gen?: boolean; allowPreconfig?: boolean }>>;
}

/** Options of {@link QapiSchema.fromIntrospection}. */
export interface QapiIntrospectionOptions {
  /** Facts to add to what introspection says. */
  hints?: QapiIntrospectionHints;
}

/**
 * Commands QEMU declares `'gen': false` (no generated argument checking): their extra arguments are
 * passed to the command. Applied to introspection, which cannot say so itself.
 */
export const QAPI_GEN_FALSE_COMMANDS: readonly string[] = ['device_add'];

function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * A QAPI schema: the types, commands and events of one QEMU, read from its introspection
 * (`query-qmp-schema`) or from QAPI source files, with QEMU's own argument checking.
 */
export class QapiSchema {
  /** Where the definitions came from. */
  readonly origin: QapiSchemaOrigin;
  readonly #types = new Map<QapiTypeRef, QapiType>();
  readonly #commands = new Map<string, QapiCommand>();
  readonly #events = new Map<string, QapiEvent>();
  readonly #realNames = new Map<QapiTypeRef, string>();
  #derived: Map<QapiTypeRef, string> | undefined;

  private constructor(defs: QapiDefinitions, origin: QapiSchemaOrigin) {
    this.origin = origin;
    for (const t of defs.types) this.#types.set(t.name, t);
    for (const c of defs.commands) this.#commands.set(c.name, c);
    for (const e of defs.events) this.#events.set(e.name, e);
    this.#checkReferences();
  }

  /**
   * Reads `query-qmp-schema` output: the array of `SchemaInfo` (or the whole `{"return": [...]}`).
   * Throws `QmpSchemaError` on malformed input.
   */
  static fromIntrospection(entries: unknown, options: QapiIntrospectionOptions = {}): QapiSchema {
    const defs = parseIntrospection(entries);
    const genFalse = new Set(QAPI_GEN_FALSE_COMMANDS);
    const commandHints = options.hints?.commands ?? {};
    defs.commands.forEach((c, i) => {
      const h = commandHints[c.name];
      defs.commands[i] = {
        ...c,
        gen: h?.gen ?? !genFalse.has(c.name),
        allowPreconfig: h?.allowPreconfig ?? c.allowPreconfig,
      };
    });
    const schema = new QapiSchema(defs, 'introspection');
    if (options.hints?.types !== undefined) schema.#applyTypeHints(options.hints.types);
    return schema;
  }

  /**
   * Reads QAPI source files (QEMU's `qapi/qapi-schema.json` and what it includes, relative to each
   * file). Throws `QmpSchemaError` naming file and line on errors.
   */
  static fromQapiFile(path: string): QapiSchema {
    return new QapiSchema(readQapiSource({ path }), 'qapi-source');
  }

  /** Reads QAPI source text; `include` directives are resolved relative to `path` (default: the working directory). */
  static fromQapiText(text: string, path = 'schema.json'): QapiSchema {
    return new QapiSchema(readQapiSource({ path, text }), 'qapi-source');
  }

  /** Builds a schema from definitions made by hand (tests, simulators). */
  static fromDefinitions(defs: QapiDefinitions, origin: QapiSchemaOrigin = 'qapi-source'): QapiSchema {
    return new QapiSchema({ types: [...defs.types], commands: [...defs.commands], events: [...defs.events] }, origin);
  }

  // ---- lookups ---------------------------------------------------------------------------------

  command(name: string): QapiCommand | undefined {
    return this.#commands.get(name);
  }

  event(name: string): QapiEvent | undefined {
    return this.#events.get(name);
  }

  /** A type by reference: a name, or `[T]` for a list of T (made on demand when T exists). */
  type(name: QapiTypeRef): QapiType | undefined {
    const t = this.#types.get(name);
    if (t !== undefined || !name.startsWith('[') || !name.endsWith(']')) return t;
    const element = name.slice(1, -1);
    if (this.type(element) === undefined) return undefined;
    const made: QapiType = { metaType: 'array', name, elementType: element, features: [] };
    this.#types.set(name, made);
    return made;
  }

  /** Commands, sorted by name. */
  commands(): readonly QapiCommand[] {
    return [...this.#commands.values()].sort(byName);
  }

  /** Events, sorted by name. */
  events(): readonly QapiEvent[] {
    return [...this.#events.values()].sort(byName);
  }

  /** Every type, builtins included. */
  types(): readonly QapiType[] {
    return [...this.#types.values()];
  }

  /** Command names, sorted: what `query-commands` lists (as `[{name}]`). */
  commandNames(): string[] {
    return this.commands().map((c) => c.name);
  }

  /** True when the command exists and may be sent with `exec-oob`. */
  allowsOob(command: string): boolean {
    return this.#commands.get(command)?.allowOob === true;
  }

  /**
   * The readable name of a type: QEMU's when the input had it (or a hint gave it), else one derived
   * from where the type is used (`BlockdevAddArguments`, `BlockIoErrorData`), stable under renumbering.
   * Builtins and arrays keep their own names.
   */
  typeName(ref: QapiTypeRef): string {
    const real = this.#realNames.get(ref);
    if (real !== undefined) return real;
    this.#derived ??= deriveTypeNames(this);
    return this.#derived.get(ref) ?? ref;
  }

  /** The name QEMU itself uses in error texts for a type (its real name when known). */
  displayName(ref: QapiTypeRef): string {
    return this.typeName(ref);
  }

  // ---- validation ------------------------------------------------------------------------------

  /**
   * Checks a command's arguments as QEMU 7.2 does (same first failure, same desc). Returns
   * `undefined` when valid. An unknown command is reported with QEMU's CommandNotFound text.
   */
  validateArguments(
    command: string,
    args: unknown,
    options: QapiValidateOptions = {},
  ): QapiValidationIssue | undefined {
    const c = this.#commands.get(command);
    if (c === undefined) {
      const desc = `The command ${command} has not been found`;
      return { desc, path: '', message: `${command}: no such command in this schema` };
    }
    return new QapiValidator(this, { ...options, path: 'arguments' }).arguments(c.argType, args, !c.gen);
  }

  /** Checks a value against a type (by name or reference). `path` prefixes the reported path. */
  validateValue(
    type: string | QapiTypeRef,
    value: unknown,
    options: QapiValidateOptions & { path?: string } = {},
  ): QapiValidationIssue | undefined {
    if (this.type(type) === undefined) throw new QmpSchemaError(`Type ${type} is not in the schema`);
    return new QapiValidator(this, options).value(type, value);
  }

  // ---- feature questions -----------------------------------------------------------------------

  /**
   * Answers "does this QEMU have X": a command (or event) by name; with `memberPath`, a member
   * reachable from it (`arguments.driver`, `arguments.options.driver`, `returns.inserted.image`,
   * `data.qom-path`; union branches and list elements are looked through); with `value`, whether that
   * member accepts the string (an enum value, or any string for `str`).
   */
  supports(command: string, memberPath?: string, value?: string): boolean {
    const c = this.#commands.get(command);
    const e = c === undefined ? this.#events.get(command) : undefined;
    if (c === undefined && e === undefined) return false;
    if (memberPath === undefined) return true;
    const segments = memberPath.split('.').map((s) => s.replace(/\[\d*\]$/, ''));
    const root = segments.shift();
    let types: QapiTypeRef[];
    if (c !== undefined && root === 'arguments') types = c.argType === undefined ? [] : [c.argType];
    else if (c !== undefined && root === 'returns') types = c.retType === undefined ? [] : [c.retType];
    else if (e !== undefined && root === 'data') types = e.argType === undefined ? [] : [e.argType];
    else return false;
    for (const seg of segments) {
      const next: QapiTypeRef[] = [];
      for (const t of types)
        for (const o of this.#objectsOf(t)) for (const m of this.#allMembers(o)) if (m.name === seg) next.push(m.type);
      if (next.length === 0) return false;
      types = next;
    }
    if (value === undefined) return true;
    return types.some((t) => this.#acceptsString(t, value, 0));
  }

  /**
   * The deprecated things `args` uses with `command`: the command itself, members, enum values.
   * Each entry is a sentence that is also a stable key for warn-once (list indexes are left out).
   * With `feature` `'unstable'`, the unstable ones instead.
   */
  deprecations(command: string, args: unknown, feature: 'deprecated' | 'unstable' = 'deprecated'): string[] {
    const c = this.#commands.get(command);
    if (c === undefined) return [];
    const out: string[] = [];
    if (c.features.includes(feature)) out.push(`command '${command}' is ${feature}`);
    if (c.argType !== undefined) this.#collectDeprecated(c.argType, args, 'arguments', command, out, 0, feature);
    return [...new Set(out)];
  }

  // ---- internals -------------------------------------------------------------------------------

  #objectsOf(ref: QapiTypeRef, depth = 0): QapiObjectType[] {
    const t = this.type(ref);
    if (t === undefined || depth > 16) return [];
    if (t.metaType === 'object') return [t];
    if (t.metaType === 'array') return this.#objectsOf(t.elementType, depth + 1);
    if (t.metaType === 'alternate') return t.members.flatMap((m) => this.#objectsOf(m.type, depth + 1));
    return [];
  }

  /** Common members and the members of every branch. */
  #allMembers(o: QapiObjectType, depth = 0): QapiObjectType['members'] {
    const out = [...o.members];
    if (depth < 16)
      for (const v of o.variants ?? []) {
        const b = this.type(v.type);
        if (b?.metaType === 'object') out.push(...this.#allMembers(b, depth + 1));
      }
    return out;
  }

  #acceptsString(ref: QapiTypeRef, value: string, depth: number): boolean {
    const t = this.type(ref);
    if (t === undefined || depth > 16) return false;
    switch (t.metaType) {
      case 'enum':
        return t.members.some((m) => m.name === value);
      case 'builtin':
        return t.jsonType === 'string' || t.jsonType === 'value';
      case 'array':
        return this.#acceptsString(t.elementType, value, depth + 1);
      case 'alternate':
        return t.members.some((m) => this.#acceptsString(m.type, value, depth + 1));
      default:
        return false;
    }
  }

  #collectDeprecated(
    ref: QapiTypeRef,
    value: unknown,
    path: string,
    command: string,
    out: string[],
    depth: number,
    feature: 'deprecated' | 'unstable',
  ): void {
    const t = this.type(ref);
    if (t === undefined || depth > 64) return;
    switch (t.metaType) {
      case 'enum': {
        const m = t.members.find((x) => x.name === value);
        if (m?.features.includes(feature)) out.push(`${command}: value '${m.name}' of '${path}' is ${feature}`);
        return;
      }
      case 'array':
        if (Array.isArray(value))
          for (const el of value)
            this.#collectDeprecated(t.elementType, el, `${path}[]`, command, out, depth + 1, feature);
        return;
      case 'alternate':
        for (const m of t.members) this.#collectDeprecated(m.type, value, path, command, out, depth + 1, feature);
        return;
      case 'object': {
        if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
        const obj = value as Readonly<Record<string, unknown>>;
        const visit = (o: QapiObjectType, d: number): void => {
          for (const m of o.members) {
            if (!Object.hasOwn(obj, m.name)) continue;
            const p = `${path}.${m.name}`;
            if (m.features.includes(feature)) out.push(`${command}: member '${p}' is ${feature}`);
            this.#collectDeprecated(m.type, obj[m.name], p, command, out, depth + 1, feature);
          }
          const v = o.variants?.find((x) => x.case === obj[o.tag ?? '']);
          const b = v === undefined ? undefined : this.type(v.type);
          if (b?.metaType === 'object' && d < 16) visit(b, d + 1);
        };
        visit(t, 0);
        return;
      }
      default:
        return;
    }
  }

  #checkReferences(): void {
    const need = (ref: QapiTypeRef | undefined, where: string): void => {
      if (ref !== undefined && this.type(ref) === undefined)
        throw new QmpSchemaError(`${where} refers to type '${ref}', which is not in the schema`);
    };
    for (const t of [...this.#types.values()]) {
      switch (t.metaType) {
        case 'array':
          need(t.elementType, `Array type '${t.name}'`);
          break;
        case 'object':
          for (const m of t.members) need(m.type, `Member '${m.name}' of '${t.name}'`);
          for (const v of t.variants ?? []) {
            need(v.type, `Branch '${v.case}' of '${t.name}'`);
            if (this.type(v.type)?.metaType !== 'object')
              throw new QmpSchemaError(`Branch '${v.case}' of '${t.name}' must be an object type`);
          }
          break;
        case 'alternate':
          for (const m of t.members) need(m.type, `Alternate '${t.name}'`);
          break;
        default:
          break;
      }
      if (!isNumberedName(t.name) && !(t.metaType === 'object' && t.implicit === true))
        this.#realNames.set(t.name, t.name);
    }
    for (const c of this.#commands.values()) {
      need(c.argType, `Command '${c.name}'`);
      need(c.retType, `Command '${c.name}'`);
      if (c.argType !== undefined && this.type(c.argType)?.metaType !== 'object')
        throw new QmpSchemaError(`Arguments of command '${c.name}' must be an object type`);
    }
    for (const e of this.#events.values()) {
      need(e.argType, `Event '${e.name}'`);
      if (e.argType !== undefined && this.type(e.argType)?.metaType !== 'object')
        throw new QmpSchemaError(`Data of event '${e.name}' must be an object type`);
    }
  }

  #applyTypeHints(hints: NonNullable<QapiIntrospectionHints['types']>): void {
    const byDerived = new Map<string, QapiTypeRef>();
    for (const t of this.#types.values()) byDerived.set(this.typeName(t.name), t.name);
    for (const [derived, h] of Object.entries(hints)) {
      const ref = byDerived.get(derived);
      if (ref === undefined) continue;
      const t = this.#types.get(ref)!;
      if (h.members !== undefined && t.metaType === 'object') {
        const widths = h.members;
        // Only `int` members are refined: a hint never changes what introspection states plainly.
        const members = t.members.map((m) => {
          const w = widths[m.name];
          if (w === undefined || (m.type !== 'int' && m.type !== '[int]') || this.type(w) === undefined) return m;
          return { ...m, type: w };
        });
        this.#types.set(ref, { ...t, members });
      }
      if (h.name !== undefined) this.#realNames.set(ref, h.name);
    }
  }
}
