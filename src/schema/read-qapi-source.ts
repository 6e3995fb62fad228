import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { QmpSchemaError } from '../errors/index.js';
import type { QapiDefinitions } from './parse-introspection.js';
import {
  parseQapiSource,
  type QapiDocComment,
  type QapiSourceExpression,
  type QapiSourceValue,
} from './parse-qapi-source.js';
import { isQapiBuiltinName, qapiBuiltinTypes } from './qapi-builtins.js';
import type {
  QapiCommand,
  QapiCondition,
  QapiEnumMember,
  QapiEvent,
  QapiMember,
  QapiObjectType,
  QapiSourceInfo,
  QapiType,
  QapiTypeRef,
  QapiVariant,
} from './qapi-type.js';

type Dict = { [key: string]: QapiSourceValue };

const META = ['enum', 'struct', 'union', 'alternate', 'command', 'event'] as const;
type Meta = (typeof META)[number];

/** QAPI's built-in enum of JSON types, defined when a schema refers to it without defining it. */
const QTYPE_VALUES: readonly string[] = ['none', 'qnull', 'qnum', 'qstring', 'qdict', 'qlist', 'qbool'];

interface Pending {
  readonly meta: Meta;
  readonly name: string;
  readonly expr: Dict;
  readonly doc: QapiDocComment | undefined;
  readonly info: QapiSourceInfo;
}

function isDict(v: QapiSourceValue | undefined): v is Dict {
  return typeof v === 'object' && !Array.isArray(v);
}

/**
 * Reads QAPI source (QEMU's `qapi/*.json`) into definitions: follows `include` relative to each
 * file (each file once), records `pragma`, keeps `if` conditions and doc comments, flattens struct
 * bases, makes the implicit types QAPI makes (`q_obj_NAME-arg`, `q_obj_NAME-base`, `q_empty`).
 * Throws `QmpSchemaError` naming file and line.
 */
export function readQapiSource(input: { path: string; text?: string }): QapiDefinitions {
  return new SourceReader().read(input);
}

class SourceReader {
  readonly #pending = new Map<string, Pending>();
  readonly #commands: Pending[] = [];
  readonly #events: Pending[] = [];
  readonly #included = new Set<string>();
  readonly #types = new Map<string, QapiType>();
  readonly #building = new Set<string>();

  read(input: { path: string; text?: string }): QapiDefinitions {
    this.#file(resolve(input.path), input.text, undefined);
    for (const b of qapiBuiltinTypes()) this.#types.set(b.name, b);
    for (const p of this.#pending.values()) this.#build(p.name, p.info);
    const commands = this.#commands.map((p) => this.#command(p));
    const events = this.#events.map((p) => this.#event(p));
    return { types: [...this.#types.values()], commands, events };
  }

  #file(path: string, text: string | undefined, from: QapiSourceInfo | undefined): void {
    if (this.#included.has(path)) return;
    this.#included.add(path);
    let src = text;
    if (src === undefined) {
      try {
        src = readFileSync(path, 'utf8');
      } catch (e) {
        const where = from === undefined ? '' : `${from.file}:${from.line}: `;
        throw new QmpSchemaError(`${where}cannot read ${path}: ${(e as Error).message}`, { cause: e });
      }
    }
    for (const x of parseQapiSource(src, path)) this.#expression(x, path);
  }

  #error(info: QapiSourceInfo, msg: string): QmpSchemaError {
    return new QmpSchemaError(`${info.file}:${info.line}: ${msg}`);
  }

  #expression(x: QapiSourceExpression, path: string): void {
    const info: QapiSourceInfo = { file: x.file, line: x.line };
    const e = x.expr;
    if (Object.hasOwn(e, 'include')) {
      const target = e['include'];
      if (typeof target !== 'string') throw this.#error(info, "'include' requires a string");
      this.#file(resolve(dirname(path), target), undefined, info);
      return;
    }
    if (Object.hasOwn(e, 'pragma')) {
      if (!isDict(e['pragma'])) throw this.#error(info, "'pragma' requires an object");
      return;
    }
    const meta = META.find((m) => Object.hasOwn(e, m));
    if (meta === undefined) throw this.#error(info, `expression has none of the keys ${META.join(', ')}`);
    const name = e[meta];
    if (typeof name !== 'string' || name === '') throw this.#error(info, `'${meta}' requires a name`);
    const doc = x.doc?.symbol === name ? x.doc : undefined;
    const p: Pending = { meta, name, expr: e, doc, info };
    if (meta === 'command') this.#commands.push(p);
    else if (meta === 'event') this.#events.push(p);
    else {
      if (this.#pending.has(name) || isQapiBuiltinName(name)) throw this.#error(info, `'${name}' is already defined`);
      this.#pending.set(name, p);
    }
  }

  // ---- shared pieces ---------------------------------------------------------------------------

  #features(v: QapiSourceValue | undefined, info: QapiSourceInfo): string[] {
    if (v === undefined) return [];
    if (!Array.isArray(v)) throw this.#error(info, "'features' must be an array");
    return v.map((f) => {
      if (typeof f === 'string') return f;
      if (isDict(f) && typeof f['name'] === 'string') return f['name'];
      throw this.#error(info, "a feature must be a name or {'name': ...}");
    });
  }

  #condition(v: QapiSourceValue | undefined, info: QapiSourceInfo): QapiCondition | undefined {
    if (v === undefined) return undefined;
    if (typeof v === 'string') return v;
    if (isDict(v)) {
      const keys = Object.keys(v);
      if (keys.length === 1) {
        const k = keys[0]!;
        const inner = v[k];
        if (k === 'all' && Array.isArray(inner)) return { all: inner.map((c) => this.#condition(c, info)!) };
        if (k === 'any' && Array.isArray(inner)) return { any: inner.map((c) => this.#condition(c, info)!) };
        if (k === 'not') return { not: this.#condition(inner, info)! };
      }
    }
    throw this.#error(info, "'if' must be a string or {'all'|'any': [...]} or {'not': ...}");
  }

  /** A type reference in source form ('T' or ['T']) as a model reference, defining what it needs. */
  #ref(v: QapiSourceValue | undefined, info: QapiSourceInfo, what: string): QapiTypeRef {
    if (typeof v === 'string') {
      this.#build(v, info);
      return v;
    }
    if (Array.isArray(v) && v.length === 1 && typeof v[0] === 'string') {
      this.#build(v[0], info);
      return `[${v[0]}]`;
    }
    throw this.#error(info, `${what} must be a type name or ['TypeName']`);
  }

  /** Members from a `data` dictionary (`'*name': 'T'` or `'name': {'type': ..., 'if': ..., 'features': ...}`). */
  #members(data: Dict, doc: QapiDocComment | undefined, info: QapiSourceInfo, what: string): QapiMember[] {
    return Object.entries(data).map(([key, v]) => {
      const optional = key.startsWith('*');
      const name = optional ? key.slice(1) : key;
      if (isDict(v)) {
        return {
          name,
          type: this.#ref(v['type'], info, `member '${name}' of ${what}`),
          optional,
          features: this.#features(v['features'], info),
          doc: doc?.members.get(name),
          ifCond: this.#condition(v['if'], info),
        };
      }
      return {
        name,
        type: this.#ref(v, info, `member '${name}' of ${what}`),
        optional,
        features: [],
        doc: doc?.members.get(name),
      };
    });
  }

  #empty(): QapiTypeRef {
    if (!this.#types.has('q_empty'))
      this.#types.set('q_empty', { metaType: 'object', name: 'q_empty', members: [], features: [], implicit: true });
    return 'q_empty';
  }

  /** The object type for a command's or event's `data`, or undefined when there is none. */
  #data(p: Pending, suffix: string): QapiTypeRef | undefined {
    const data = p.expr['data'];
    if (data === undefined) return undefined;
    if (isDict(data)) {
      if (p.expr['boxed'] === true) throw this.#error(p.info, `'boxed': true needs 'data' to name a type`);
      const name = `q_obj_${p.name}-${suffix}`;
      const members = this.#members(data, p.doc, p.info, `'${p.name}'`);
      this.#types.set(name, { metaType: 'object', name, members, features: [], implicit: true, info: p.info });
      return name;
    }
    const ref = this.#ref(data, p.info, `'data' of '${p.name}'`);
    const t = this.#types.get(ref);
    if (t?.metaType !== 'object') throw this.#error(p.info, `'data' of '${p.name}' must name a struct or union`);
    if (t.variants !== undefined && p.expr['boxed'] !== true)
      throw this.#error(p.info, `'data' of '${p.name}' names a union: it needs 'boxed': true`);
    return ref;
  }

  // ---- definitions -----------------------------------------------------------------------------

  #build(name: string, from: QapiSourceInfo): void {
    if (this.#types.has(name)) return;
    const p = this.#pending.get(name);
    if (p === undefined) {
      if (name === 'QType') {
        const members = QTYPE_VALUES.map((v) => ({ name: v, features: [] }));
        this.#types.set(name, { metaType: 'enum', name, members, features: [] });
        return;
      }
      throw this.#error(from, `type '${name}' is not defined`);
    }
    if (this.#building.has(name)) return;
    this.#building.add(name);
    const common = {
      name,
      features: this.#features(p.expr['features'], p.info),
      doc: p.doc?.body || undefined,
      ifCond: this.#condition(p.expr['if'], p.info),
      info: p.info,
    };
    switch (p.meta) {
      case 'enum': {
        const data = p.expr['data'];
        if (!Array.isArray(data)) throw this.#error(p.info, `enum '${name}' requires 'data': [...]`);
        const members: QapiEnumMember[] = data.map((v) => {
          if (typeof v === 'string') return { name: v, features: [], doc: p.doc?.members.get(v) };
          if (isDict(v) && typeof v['name'] === 'string')
            return {
              name: v['name'],
              features: this.#features(v['features'], p.info),
              doc: p.doc?.members.get(v['name']),
              ifCond: this.#condition(v['if'], p.info),
            };
          throw this.#error(p.info, `values of enum '${name}' must be names or {'name': ...}`);
        });
        this.#types.set(name, { metaType: 'enum', members, ...common });
        break;
      }
      case 'struct': {
        const data = p.expr['data'] ?? {};
        if (!isDict(data)) throw this.#error(p.info, `struct '${name}' requires 'data': {...}`);
        const base = p.expr['base'] === undefined ? undefined : this.#ref(p.expr['base'], p.info, `base of '${name}'`);
        const baseMembers = base === undefined ? [] : this.#baseMembers(base, p.info, name);
        // Set before reading members so self-references through lists resolve.
        const members = [...baseMembers, ...this.#members(data, p.doc, p.info, `'${name}'`)];
        this.#types.set(name, { metaType: 'object', members, base, ...common });
        break;
      }
      case 'union':
        this.#union(p, common);
        break;
      case 'alternate': {
        const data = p.expr['data'];
        if (!isDict(data)) throw this.#error(p.info, `alternate '${name}' requires 'data': {...}`);
        const members = Object.entries(data).map(([branch, v]) => ({
          name: branch,
          type: this.#ref(isDict(v) ? v['type'] : v, p.info, `branch '${branch}' of '${name}'`),
        }));
        this.#types.set(name, { metaType: 'alternate', members, ...common });
        break;
      }
      default:
        break;
    }
    this.#building.delete(name);
  }

  #baseMembers(base: QapiTypeRef, info: QapiSourceInfo, of: string): readonly QapiMember[] {
    const t = this.#types.get(base);
    if (t?.metaType !== 'object' || t.variants !== undefined)
      throw this.#error(info, `base of '${of}' must be a struct, '${base}' is not`);
    return t.members;
  }

  #union(p: Pending, common: Omit<QapiObjectType, 'metaType' | 'members'>): void {
    const { name } = p;
    const baseV = p.expr['base'];
    let members: QapiMember[];
    let base: QapiTypeRef | undefined;
    if (isDict(baseV)) {
      const implicit = `q_obj_${name}-base`;
      members = this.#members(baseV, p.doc, p.info, `base of '${name}'`);
      this.#types.set(implicit, { metaType: 'object', name: implicit, members, features: [], implicit: true });
      base = implicit;
    } else if (baseV !== undefined) {
      base = this.#ref(baseV, p.info, `base of '${name}'`);
      members = [...this.#baseMembers(base, p.info, name)];
    } else {
      throw this.#error(p.info, `union '${name}' requires a 'base'`);
    }
    const tag = p.expr['discriminator'];
    if (typeof tag !== 'string') throw this.#error(p.info, `union '${name}' requires a 'discriminator'`);
    const tagMember = members.find((m) => m.name === tag);
    const tagType = tagMember === undefined ? undefined : this.#types.get(tagMember.type);
    if (tagMember === undefined || tagMember.optional || tagType?.metaType !== 'enum')
      throw this.#error(p.info, `discriminator '${tag}' of '${name}' must be a mandatory enum member of the base`);
    const data = p.expr['data'];
    if (!isDict(data)) throw this.#error(p.info, `union '${name}' requires 'data': {...}`);
    for (const c of Object.keys(data))
      if (!tagType.members.some((m) => m.name === c))
        throw this.#error(p.info, `branch '${c}' of '${name}' is not a value of '${tagType.name}'`);
    const variants: QapiVariant[] = tagType.members.map((m) => {
      const v = data[m.name];
      if (v === undefined) return { case: m.name, type: this.#empty() };
      const ref = this.#ref(isDict(v) ? v['type'] : v, p.info, `branch '${m.name}' of '${name}'`);
      if (this.#types.get(ref)?.metaType !== 'object')
        throw this.#error(p.info, `branch '${m.name}' of '${name}' must be a struct`);
      return { case: m.name, type: ref };
    });
    this.#types.set(name, { ...common, metaType: 'object', members, tag, variants, base });
  }

  #command(p: Pending): QapiCommand {
    const e = p.expr;
    const flag = (k: string): boolean => {
      const v = e[k];
      if (v !== undefined && typeof v !== 'boolean')
        throw this.#error(p.info, `'${k}' of '${p.name}' must be true or false`);
      return v === true;
    };
    const returns =
      e['returns'] === undefined ? undefined : this.#ref(e['returns'], p.info, `'returns' of '${p.name}'`);
    return {
      metaType: 'command',
      name: p.name,
      argType: this.#data(p, 'arg'),
      retType: returns,
      allowOob: flag('allow-oob'),
      allowPreconfig: flag('allow-preconfig'),
      boxed: flag('boxed'),
      gen: e['gen'] !== false,
      successResponse: e['success-response'] !== false,
      features: this.#features(e['features'], p.info),
      doc: p.doc?.body || undefined,
      ifCond: this.#condition(e['if'], p.info),
      info: p.info,
    };
  }

  #event(p: Pending): QapiEvent {
    return {
      metaType: 'event',
      name: p.name,
      argType: this.#data(p, 'arg'),
      boxed: p.expr['boxed'] === true,
      features: this.#features(p.expr['features'], p.info),
      doc: p.doc?.body || undefined,
      ifCond: this.#condition(p.expr['if'], p.info),
      info: p.info,
    };
  }
}
