// QEMU's integer types and how a JS value maps to one of its numbers: the ranges the validator
// checks integer members against.

/** How QEMU holds a number: `int` fits int64, `uint` fits uint64 only, `double` is a float (or an integer too big for uint64). */
export interface QapiNumberKind {
  kind: 'int' | 'uint' | 'double';
  value: number | bigint;
}

/** The narrow integer types: QAPI name to [min, max, QEMU's C type name for its error text]. */
export const INT_RANGES: Readonly<Record<string, readonly [bigint, bigint, string]>> = {
  int8: [-128n, 127n, 'int8_t'],
  int16: [-32768n, 32767n, 'int16_t'],
  int32: [-2147483648n, 2147483647n, 'int32_t'],
  uint8: [0n, 255n, 'uint8_t'],
  uint16: [0n, 65535n, 'uint16_t'],
  uint32: [0n, 4294967295n, 'uint32_t'],
};
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** The default number classification, for values as a JS program holds them. */
export function defaultNumberKind(v: unknown): QapiNumberKind | undefined {
  if (typeof v === 'bigint') {
    if (v >= INT64_MIN && v <= INT64_MAX) return { kind: 'int', value: v };
    if (v >= 0n && v <= UINT64_MAX) return { kind: 'uint', value: v };
    return { kind: 'double', value: Number(v) };
  }
  if (typeof v !== 'number') return undefined;
  // JSON.stringify writes integers below 1e21 as digits, which QEMU reads as int64, uint64 or double by range.
  if (Number.isInteger(v) && Math.abs(v) < 1e21) return defaultNumberKind(BigInt(v));
  return { kind: 'double', value: v };
}
