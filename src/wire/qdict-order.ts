import { QDICT_BUCKETS } from '../limits.js';

/** Dicts up to this many keys are ordered by insertion sort; larger ones by a general sort. */
const INSERTION_SORT_MAX = 24;

/** Stateless (no streaming): sharing it between users is safe. */
const encoder = new TextEncoder();

/** The tdb hash from the sum of the shifted bytes and the byte count. */
function finish(sum: number, length: number): number {
  const v = (sum + Math.imul(0x238f13af, length)) >>> 0;
  return ((Math.imul(1103515243, v) + 12345) >>> 0) % QDICT_BUCKETS;
}

/** The hash over the UTF-8 bytes of a key that is not all ASCII. */
function hashBytes(bytes: Uint8Array): number {
  let v = 0;
  for (let i = 0; i < bytes.length; i++) v = (v + ((bytes[i]! << ((i * 5) % 24)) >>> 0)) >>> 0;
  return finish(v, bytes.length);
}

/**
 * The bucket of `key` in QEMU's QDict hash table (512 buckets): the gdbm/tdb-style hash of
 * qobject/qdict.c, in unsigned 32-bit arithmetic over the key's UTF-8 bytes (byte `i` shifted left by
 * `i * 5 % 24`). ASCII keys (all of QMP's names) are hashed straight from the string, so no cache is
 * needed to make it cheap; other keys are encoded first.
 */
export function qdictHash(key: string): number {
  let v = 0;
  let shift = 0;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c >= 0x80) return hashBytes(encoder.encode(key));
    v = (v + ((c << shift) >>> 0)) >>> 0;
    shift = shift >= 19 ? shift - 19 : shift + 5;
  }
  return finish(v, key.length);
}

/**
 * QEMU's output order for a dict whose keys were inserted in `keys` order: buckets in increasing
 * order, and within a bucket the most recently inserted key first.
 */
export function qdictOrder(keys: readonly string[]): string[] {
  return sortQdictKeys([...keys]);
}

/**
 * {@link qdictOrder} in place: sorts `keys` (given in insertion order) into QEMU's output order and
 * returns the same array. The dicts of QMP messages have a handful of keys, so an insertion sort
 * over their hashes allocates nothing beyond the hash array.
 */
export function sortQdictKeys(keys: string[]): string[] {
  const n = keys.length;
  if (n < 2) return keys;
  if (n === 2) {
    const a = keys[0] as string;
    const b = keys[1] as string;
    // The later key goes first within a bucket.
    if (qdictHash(b) <= qdictHash(a)) {
      keys[0] = b;
      keys[1] = a;
    }
    return keys;
  }
  if (n > INSERTION_SORT_MAX) {
    const idx = keys.map((k, i) => ({ k, i, b: qdictHash(k) }));
    idx.sort((x, y) => x.b - y.b || y.i - x.i);
    for (let i = 0; i < n; i++) keys[i] = (idx[i] as { k: string }).k;
    return keys;
  }
  const hs: number[] = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const k = keys[i] as string;
    const h = qdictHash(k);
    let j = i - 1;
    // Keys are taken in insertion order, so a later key moves in front of an equal bucket.
    while (j >= 0 && (hs[j] as number) >= h) {
      hs[j + 1] = hs[j] as number;
      keys[j + 1] = keys[j] as string;
      j--;
    }
    hs[j + 1] = h;
    keys[j + 1] = k;
  }
  return keys;
}
