/**
 * Values of QEMU's own JSON model (QObject), used by the server side, which must reproduce QEMU
 * byte for byte: numbers remember whether QEMU would hold them as int64, uint64 or double (so `1.0`
 * is rejected where an integer is expected, and `-0` is echoed as `0`), and objects keep their
 * insertion order so the writer can apply QEMU's QDict hash order.
 */

/** A number as QEMU's parser holds it. */
export class QNum {
  /** `int` (fits int64), `uint` (fits uint64 only) or `double`. */
  readonly kind: 'int' | 'uint' | 'double';
  /** `bigint` for `int`/`uint`, `number` for `double`. */
  readonly value: bigint | number;

  constructor(kind: 'int' | 'uint' | 'double', value: bigint | number) {
    this.kind = kind;
    this.value = value;
  }

  /** The value as a JS number when exact, else as a bigint (doubles stay numbers). */
  toJs(): number | bigint {
    if (this.kind === 'double') return this.value as number;
    const v = this.value as bigint;
    return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
  }
}

/** Pre-serialized JSON text that the QEMU writer copies through unchanged (e.g. the 7.2 schema reply). */
export class RawJson {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

/** A QEMU JSON value: what the QEMU-dialect parser produces. Objects are `Map`s in insertion order. */
export type QValue = null | boolean | string | QNum | QValue[] | Map<string, QValue>;
