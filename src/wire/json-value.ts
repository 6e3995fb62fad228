/**
 * A JSON value as qmpkit's client-side decoder returns it. Integers outside ±(2^53−1) are `bigint`;
 * every other number is a `number`. QEMU can also send the non-JSON tokens `inf`, `-inf` and `nan`
 * (from `%.17g`), which decode to `Infinity`, `-Infinity` and `NaN`.
 */
export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | JsonObject;

/** A JSON object as decoded. */
export interface JsonObject {
  [key: string]: JsonValue;
}
