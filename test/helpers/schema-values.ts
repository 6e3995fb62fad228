// Values built from a QAPI schema for validator tests: a valid minimal value of any type, a value of
// the wrong JSON type, and numbers that keep the kind QEMU's parser would give them.
import assert from 'node:assert/strict';
import type { QapiObjectType, QapiSchema, QapiType } from '../../src/schema/index.js';

/** A number as sent on the wire, with the kind QEMU's parser gives it. */
export class Num {
  constructor(
    readonly kind: 'int' | 'uint' | 'double',
    readonly text: string,
  ) {}
  get value(): number | bigint {
    return this.kind === 'double' ? Number(this.text) : BigInt(this.text);
  }
}
export const int = (n: number | bigint): Num => new Num(BigInt(n) >= 2n ** 63n ? 'uint' : 'int', String(n));
export const dbl = (text: string): Num => new Num('double', text);
export const numberKind = (v: unknown) => (v instanceof Num ? { kind: v.kind, value: v.value } : undefined);

/** Builds valid values for a schema's types (mandatory members only, first enum value, first branch). */
export class Values {
  constructor(readonly schema: QapiSchema) {}
  t(ref: string): QapiType {
    const t = this.schema.type(ref);
    assert.ok(t, ref);
    return t;
  }
  minimal(ref: string, depth = 0): unknown {
    const t = this.t(ref);
    switch (t.metaType) {
      case 'builtin':
        return { str: 'probe', bool: false, null: null, any: {}, number: int(0) }[t.name] ?? int(0);
      case 'enum':
        return t.members[0]!.name;
      case 'array':
        return [];
      case 'alternate': {
        // Prefer a scalar branch: object branches can recurse (BlockdevRef → BlockdevOptions → BlockdevRef).
        const scalar = t.members.find((m) => ['builtin', 'enum'].includes(this.t(m.type).metaType));
        return this.minimal((scalar ?? t.members[0]!).type, depth + 1);
      }
      case 'object':
        return this.object(t, undefined, depth);
    }
  }
  /** A valid object of `t`, with branch `variant` when it is a union. */
  object(t: QapiObjectType, variant: string | undefined, depth = 0): Record<string, unknown> {
    assert.ok(depth < 20, `recursion at ${t.name}`);
    const out: Record<string, unknown> = {};
    for (const m of t.members) if (!m.optional) out[m.name] = this.minimal(m.type, depth + 1);
    if (t.tag !== undefined && t.variants !== undefined) {
      const v = variant === undefined ? t.variants[0]! : t.variants.find((x) => x.case === variant)!;
      out[t.tag] = v.case;
      Object.assign(out, this.object(this.t(v.type) as QapiObjectType, undefined, depth + 1));
    }
    return out;
  }
  /** A value `ref` rejects, of a JSON type it does not take (or undefined for `any`). */
  wrong(ref: string): unknown {
    const t = this.t(ref);
    const takes = (v: unknown): boolean => this.schema.validateValue(ref, v, { numberKind }) === undefined;
    for (const v of [int(5), 'wrong', true, null, [], {}, dbl('1.5')]) {
      if (t.metaType === 'object' || t.metaType === 'array' || t.metaType === 'alternate') {
        if (!takes(v)) return v;
      } else if (!takes(v)) return v;
    }
    return undefined;
  }
}
