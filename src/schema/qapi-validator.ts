import { MAX_DEPTH } from '../limits.js';
import { firstUnexpectedKey } from './first-unexpected-key.js';
import { listOf, render } from './qapi-issue-text.js';
import { defaultNumberKind, INT_RANGES, type QapiNumberKind } from './qapi-numbers.js';
import type { QapiAlternateType, QapiEnumType, QapiObjectType, QapiType, QapiTypeRef } from './qapi-type.js';

export { defaultNumberKind, type QapiNumberKind } from './qapi-numbers.js';

/** Options of the validation methods. */
export interface QapiValidateOptions {
  /**
   * For server use: tells how QEMU holds a number (the server passes its own QNum instances as
   * numbers). Return `undefined` for "not a number". When absent, a JS number is `int` when it is
   * an integer (`uint` or `double` past int64, as QEMU's parser would read its decimal text) and
   * `double` otherwise; a bigint is `int` or `uint` by range.
   */
  numberKind?: (v: unknown) => QapiNumberKind | undefined;
}

/** Why a value does not match its type. */
export interface QapiValidationIssue {
  /**
   * QEMU 7.2's exact desc for this failure, e.g. "Parameter 'keys[0].type' is missing",
   * "Invalid parameter type for 'device', expected: string", "Parameter 'x' is unexpected",
   * "Parameter 'type' does not accept value 'bogus'", "Parameter 'x' expects uint64",
   * "Parameter 'x' expects int8_t".
   */
  desc: string;
  /** Path like `arguments.options.driver` or `arguments.keys[0].type`. */
  path: string;
  /** A friendlier message naming the path and what was expected. */
  message: string;
}

/** What the validator needs from a schema. */
export interface QapiTypeLookup {
  type(name: QapiTypeRef): QapiType | undefined;
  /** QEMU's name of a type for error texts (alternates), or a readable stand-in. */
  displayName(name: QapiTypeRef): string;
}

type Segment = string | number;
type ValueJsonType = 'string' | 'number' | 'boolean' | 'null' | 'object' | 'array' | 'none';

/** Raised inside a walk to stop at the first failure, as QEMU's visitor does. */
class Stop {
  constructor(readonly issue: QapiValidationIssue) {}
}

function isPlainObject(v: unknown): v is Readonly<Record<string, unknown>> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Checks a value against a type the way QEMU's QObject input visitor does: members in schema
 * order (the first missing or mistyped one is reported), then unexpected members; flat unions by
 * their discriminator; alternates by JSON type; integers by width. Stops at the first failure.
 */
export class QapiValidator {
  readonly #lookup: QapiTypeLookup;
  readonly #kindOf: (v: unknown) => QapiNumberKind | undefined;
  readonly #prefix: string;
  readonly #segments: Segment[] = [];
  readonly #ancestors = new Set<object>();

  constructor(lookup: QapiTypeLookup, options: QapiValidateOptions & { path?: string | undefined } = {}) {
    this.#lookup = lookup;
    this.#kindOf = options.numberKind ?? defaultNumberKind;
    this.#prefix = options.path ?? '';
  }

  /** Checks `value` as a whole value of `type` (as a member would be checked). */
  value(type: QapiTypeRef, value: unknown): QapiValidationIssue | undefined {
    return this.#run(() => this.#visit(type, value, null));
  }

  /**
   * Checks `args` as command arguments: an object with the members of `type` (an object type). With
   * `passThrough` (QEMU's `'gen': false` commands), only the presence of mandatory members is checked.
   */
  arguments(type: QapiTypeRef | undefined, args: unknown, passThrough = false): QapiValidationIssue | undefined {
    return this.#run(() => {
      const obj = args === undefined ? {} : args;
      if (!isPlainObject(obj) || this.#kindOf(obj) !== undefined)
        throw this.#typeError(null, 'object', 'an object', obj);
      const t = type === undefined ? undefined : this.#lookup.type(type);
      if (t !== undefined && t.metaType !== 'object') throw new Error(`argument type ${type} is not an object type`);
      if (passThrough) {
        for (const m of t?.members ?? []) if (!m.optional && !Object.hasOwn(obj, m.name)) throw this.#missing(m.name);
        return;
      }
      this.#ancestors.add(obj);
      this.#objectBody(t, obj);
    });
  }

  #run(walk: () => void): QapiValidationIssue | undefined {
    this.#segments.length = 0;
    this.#ancestors.clear();
    try {
      walk();
      return undefined;
    } catch (e) {
      if (e instanceof Stop) return e.issue;
      // Through recursive types (BlockdevRef) JS runs out of stack a few hundred levels before
      // QEMU's 1024-level parser limit; such a value is reported rather than crashing the caller.
      if (e instanceof RangeError) {
        const path = this.#userPath(null);
        return {
          desc: 'Value nested too deeply to check',
          path,
          message: `${path || '(value)'}: nested too deeply to check`,
        };
      }
      throw e;
    }
  }

  // ---- paths -----------------------------------------------------------------------------------

  /** QEMU's `full_name`: dotted member names with `[i]` for list elements. */
  #fullName(name: string | null): string {
    let s = '';
    for (const seg of this.#segments) s += typeof seg === 'number' ? `[${seg}]` : s === '' ? seg : `.${seg}`;
    if (name !== null) s += s === '' ? name : `.${name}`;
    return s === '' ? '<anonymous>' : s;
  }

  #userPath(name: string | null): string {
    const inner = this.#fullName(name);
    if (inner === '<anonymous>') return this.#prefix;
    if (this.#prefix === '') return inner;
    return inner.startsWith('[') ? this.#prefix + inner : `${this.#prefix}.${inner}`;
  }

  #issue(name: string | null, desc: string, expected: string, ...got: [value: unknown] | []): Stop {
    const path = this.#userPath(name);
    const shown = got.length === 1 ? ` but got ${render(got[0], this.#kindOf)}` : '';
    return new Stop({ desc, path, message: `${path === '' ? '(value)' : path}: ${expected}${shown}` });
  }

  #missing(name: string): Stop {
    return this.#issue(name, `Parameter '${this.#fullName(name)}' is missing`, 'missing (it is mandatory)');
  }

  #typeError(name: string | null, qemuWord: string, expected: string, value: unknown): Stop {
    return this.#issue(
      name,
      `Invalid parameter type for '${this.#fullName(name)}', expected: ${qemuWord}`,
      `expected ${expected}`,
      value,
    );
  }

  // ---- visiting --------------------------------------------------------------------------------

  #visit(typeName: QapiTypeRef, value: unknown, name: string | null): void {
    if (this.#segments.length >= MAX_DEPTH)
      throw this.#issue(name, 'JSON nesting depth limit exceeded', `nested deeper than ${MAX_DEPTH} levels`);
    if (typeof value === 'object' && value !== null) {
      if (this.#ancestors.has(value)) throw this.#issue(name, 'Value contains itself', 'the value contains itself');
    }
    const t = this.#lookup.type(typeName);
    if (t === undefined) throw new Error(`type ${typeName} is not in the schema`);
    switch (t.metaType) {
      case 'builtin':
        this.#builtin(t.name, t.jsonType, value, name);
        return;
      case 'enum':
        this.#enum(t, value, name);
        return;
      case 'array': {
        if (!Array.isArray(value)) throw this.#typeError(name, 'array', 'an array', value);
        if (name !== null) this.#segments.push(name);
        this.#ancestors.add(value);
        value.forEach((el, i) => {
          this.#segments.push(i);
          this.#visit(t.elementType, el, null);
          this.#segments.pop();
        });
        this.#ancestors.delete(value);
        if (name !== null) this.#segments.pop();
        return;
      }
      case 'object':
        if (!isPlainObject(value) || this.#kindOf(value) !== undefined)
          throw this.#typeError(name, 'object', 'an object', value);
        if (name !== null) this.#segments.push(name);
        this.#ancestors.add(value);
        this.#objectBody(t, value);
        this.#ancestors.delete(value);
        if (name !== null) this.#segments.pop();
        return;
      case 'alternate':
        this.#alternate(t, value, name);
        return;
    }
  }

  #objectBody(t: QapiObjectType | undefined, obj: Readonly<Record<string, unknown>>): void {
    const visited: string[] = [];
    this.#members(t, obj, visited);
    const keys = Object.keys(obj);
    if (visited.length < keys.length) {
      const extra = firstUnexpectedKey(keys, visited);
      if (extra !== undefined) {
        const known = t === undefined ? [] : this.#memberNames(t, obj);
        throw this.#issue(
          extra,
          `Parameter '${this.#fullName(extra)}' is unexpected`,
          known.length === 0
            ? 'unexpected member (none are allowed here)'
            : `unexpected member (allowed: ${listOf(known, 12)})`,
        );
      }
    }
  }

  #members(t: QapiObjectType | undefined, obj: Readonly<Record<string, unknown>>, visited: string[]): void {
    if (t === undefined) return;
    for (const m of t.members) {
      if (!Object.hasOwn(obj, m.name)) {
        if (m.optional) continue;
        throw this.#missing(m.name);
      }
      this.#visit(m.type, obj[m.name], m.name);
      visited.push(m.name);
    }
    if (t.tag === undefined || t.variants === undefined) return;
    const tagValue = obj[t.tag];
    const v = t.variants.find((x) => x.case === tagValue);
    if (v === undefined) return;
    const branch = this.#lookup.type(v.type);
    if (branch === undefined || branch.metaType !== 'object')
      throw new Error(`variant type ${v.type} is not an object`);
    this.#members(branch, obj, visited);
  }

  /** Member names allowed in `obj` (for messages): common members plus the selected branch's. */
  #memberNames(t: QapiObjectType, obj: Readonly<Record<string, unknown>>): string[] {
    const names = t.members.map((m) => m.name);
    if (t.tag !== undefined && t.variants !== undefined) {
      const v = t.variants.find((x) => x.case === obj[t.tag!]);
      const branch = v === undefined ? undefined : this.#lookup.type(v.type);
      if (branch?.metaType === 'object') names.push(...this.#memberNames(branch, obj));
    }
    return names;
  }

  #enum(t: QapiEnumType, value: unknown, name: string | null): void {
    if (typeof value !== 'string') throw this.#typeError(name, 'string', 'a string', value);
    if (t.members.some((m) => m.name === value)) return;
    throw this.#issue(
      name,
      `Parameter '${name ?? 'null'}' does not accept value '${value}'`,
      `expected one of ${listOf(t.members.map((m) => m.name))}`,
      value,
    );
  }

  #alternate(t: QapiAlternateType, value: unknown, name: string | null): void {
    const json = this.#jsonTypeOf(value);
    for (const m of t.members) {
      const bt = this.#lookup.type(m.type);
      if (bt !== undefined && this.#branchTakes(bt, json)) {
        this.#visit(m.type, value, name);
        return;
      }
    }
    const kinds = t.members.map((m) => this.#describeBranch(m.type));
    throw this.#issue(
      name,
      `Invalid parameter type for '${name ?? 'null'}', expected: ${this.#lookup.displayName(t.name)}`,
      `expected ${kinds.join(' or ')}`,
      value,
    );
  }

  #jsonTypeOf(v: unknown): ValueJsonType {
    if (this.#kindOf(v) !== undefined) return 'number';
    if (typeof v === 'string') return 'string';
    if (typeof v === 'boolean') return 'boolean';
    if (v === null) return 'null';
    if (Array.isArray(v)) return 'array';
    if (typeof v === 'object') return 'object';
    return 'none';
  }

  #branchTakes(t: QapiType, json: ValueJsonType): boolean {
    switch (t.metaType) {
      case 'builtin':
        switch (t.jsonType) {
          case 'string':
            return json === 'string';
          case 'int':
          case 'number':
            return json === 'number';
          case 'boolean':
            return json === 'boolean';
          case 'null':
            return json === 'null';
          case 'object':
            return json === 'object';
          case 'array':
            return json === 'array';
          case 'value':
            return json !== 'none';
        }
        return false;
      case 'enum':
        return json === 'string';
      case 'array':
        return json === 'array';
      case 'object':
        return json === 'object';
      case 'alternate':
        return false;
    }
  }

  #describeBranch(ref: QapiTypeRef): string {
    const t = this.#lookup.type(ref);
    if (t === undefined) return ref;
    switch (t.metaType) {
      case 'builtin':
        if (t.jsonType === 'null') return 'null';
        return t.jsonType === 'int' ? 'an integer' : t.jsonType === 'value' ? 'any value' : `a ${t.jsonType}`;
      case 'enum':
        return 'a string';
      case 'array':
        return 'an array';
      default:
        return 'an object';
    }
  }

  #builtin(typeName: string, jsonType: string, value: unknown, name: string | null): void {
    switch (typeName) {
      case 'str':
        if (typeof value !== 'string') throw this.#typeError(name, 'string', 'a string', value);
        return;
      case 'bool':
        if (typeof value !== 'boolean') throw this.#typeError(name, 'boolean', 'a boolean', value);
        return;
      case 'null':
        if (value !== null) throw this.#typeError(name, 'null', 'null', value);
        return;
      case 'any':
        return;
      case 'number':
        if (this.#kindOf(value) === undefined) throw this.#typeError(name, 'number', 'a number', value);
        return;
      case 'int':
      case 'int64':
        return void this.#int64(value, name);
      case 'uint64':
      case 'size':
        return void this.#uint64(value, name);
    }
    const range = INT_RANGES[typeName];
    if (range !== undefined) {
      const [lo, hi, cName] = range;
      // QEMU reads the value as int64 (or uint64 for unsigned types, where negatives wrap) first.
      let n = typeName.startsWith('u') ? this.#uint64(value, name) : this.#int64(value, name);
      if (typeName.startsWith('u') && n < 0n) n += 2n ** 64n;
      if (n < lo || n > hi)
        throw this.#issue(
          name,
          `Parameter '${name ?? 'null'}' expects ${cName}`,
          `expected an integer in ${lo}..${hi} (${typeName})`,
          value,
        );
      return;
    }
    // A builtin this model does not know: check the JSON type only.
    const json = this.#jsonTypeOf(value);
    const ok = jsonType === 'value' || (jsonType === 'int' ? json === 'number' : json === jsonType);
    if (!ok) throw this.#typeError(name, jsonType, `a ${jsonType}`, value);
  }

  #int64(value: unknown, name: string | null): bigint {
    const n = this.#kindOf(value);
    if (n === undefined || n.kind !== 'int') throw this.#typeError(name, 'integer', 'an integer', value);
    return BigInt(n.value);
  }

  #uint64(value: unknown, name: string | null): bigint {
    const n = this.#kindOf(value);
    if (n === undefined || n.kind === 'double')
      throw this.#issue(
        name,
        `Parameter '${this.#fullName(name)}' expects uint64`,
        'expected an unsigned 64-bit integer',
        value,
      );
    return BigInt(n.value);
  }
}
