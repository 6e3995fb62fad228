import { QDICT_BUCKETS } from '../limits.js';

const encoder = new TextEncoder();

/**
 * The bucket of `key` in QEMU's QDict hash table (512 buckets): the gdbm/tdb-style hash of
 * qobject/qdict.c, in unsigned 32-bit arithmetic over the key's UTF-8 bytes.
 */
export function qdictHash(key: string): number {
  const bytes = encoder.encode(key);
  let v = Math.imul(0x238f13af, bytes.length) >>> 0;
  for (let i = 0; i < bytes.length; i++) v = (v + ((bytes[i]! << ((i * 5) % 24)) >>> 0)) >>> 0;
  return ((Math.imul(1103515243, v) + 12345) >>> 0) % QDICT_BUCKETS;
}

const cache = new Map<string, number>();

function bucket(key: string): number {
  let b = cache.get(key);
  if (b === undefined) {
    b = qdictHash(key);
    // Bounded: QMP uses a few thousand distinct keys; arbitrary client keys must not grow it forever.
    if (cache.size < 65536) cache.set(key, b);
  }
  return b;
}

/**
 * QEMU's output order for a dict whose keys were inserted in `keys` order: buckets in increasing
 * order, and within a bucket the most recently inserted key first.
 */
export function qdictOrder(keys: readonly string[]): string[] {
  if (keys.length < 2) return [...keys];
  const idx = keys.map((k, i) => ({ k, i, b: bucket(k) }));
  idx.sort((x, y) => x.b - y.b || y.i - x.i);
  return idx.map((x) => x.k);
}
