import { QDICT_BUCKETS } from '../limits.js';

// QEMU reports only one of several unexpected members, and which one is decided by two hash tables:
// the input visitor copies the keys of the argument QDict (walked in QDict bucket order) into a GLib
// GHashTable, removes each key it visits, and names the first key left in GHashTable slot order.
// Reproducing both makes "Parameter 'x' is unexpected" name the same member QEMU names.

const encoder = new TextEncoder();

/** QDict's bucket for a key (the tdb hash QEMU uses in qobject/qdict.c), unsigned 32-bit arithmetic. */
function qdictBucket(bytes: Uint8Array): number {
  let v = Math.imul(0x238f13af, bytes.length) >>> 0;
  for (let i = 0; i < bytes.length; i++) v = (v + ((bytes[i]! << ((i * 5) % 24)) >>> 0)) >>> 0;
  return ((Math.imul(1103515243, v) + 12345) >>> 0) % QDICT_BUCKETS;
}

/** Keys in the order QEMU's `qdict_iter` visits them: by bucket, most recently inserted first within one. */
function qdictOrder(keys: readonly string[]): string[] {
  const buckets = new Map<number, string[]>();
  for (const k of keys) {
    const b = qdictBucket(encoder.encode(k));
    const list = buckets.get(b);
    if (list === undefined) buckets.set(b, [k]);
    else list.unshift(k);
  }
  return [...buckets.keys()].sort((a, b) => a - b).flatMap((b) => buckets.get(b)!);
}

/** GLib's `g_str_hash` (djb2 over signed chars). */
function gStrHash(bytes: Uint8Array): number {
  let h = 5381;
  for (const b of bytes) h = (Math.imul(h, 33) + (b >= 128 ? b - 256 : b)) >>> 0;
  return h;
}

const PRIME_MOD: readonly number[] = [
  1, 2, 3, 7, 13, 31, 61, 127, 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071, 262139, 524287, 1048573,
  2097143, 4194301, 8388593, 16777213, 33554393, 67108859, 134217689, 268435399, 536870909, 1073741789, 2147483647,
];
const MIN_SHIFT = 3;
const UNUSED = 0;
const TOMBSTONE = 1;

/** An open-addressing table laid out as GLib 2.x's GHashTable lays it out (quadratic probing, `hash * 11 % mod`). */
class GHashTableModel {
  hashes: number[] = [];
  keys: (string | undefined)[] = [];
  size = 0;
  mod = 0;
  mask = 0;
  nnodes = 0;
  noccupied = 0;

  constructor() {
    this.setShift(MIN_SHIFT);
    this.hashes = new Array<number>(this.size).fill(UNUSED);
    this.keys = new Array<string | undefined>(this.size).fill(undefined);
  }

  private setShift(shift: number): void {
    this.size = 1 << shift;
    this.mod = PRIME_MOD[shift]!;
    this.mask = this.size - 1;
  }

  private index(hash: number): number {
    return (Math.imul(hash, 11) >>> 0) % this.mod;
  }

  private lookup(key: string, hash: number): number {
    let i = this.index(hash);
    let step = 0;
    let firstTombstone = -1;
    while (this.hashes[i] !== UNUSED) {
      if (this.hashes[i] === hash && this.keys[i] === key) return i;
      if (this.hashes[i] === TOMBSTONE && firstTombstone < 0) firstTombstone = i;
      step++;
      i = (i + step) & this.mask;
    }
    return firstTombstone >= 0 ? firstTombstone : i;
  }

  insert(key: string, hash: number): void {
    const i = this.lookup(key, hash);
    if (this.hashes[i]! >= 2) return;
    const wasTombstone = this.hashes[i] === TOMBSTONE;
    this.hashes[i] = hash;
    this.keys[i] = key;
    this.nnodes++;
    if (!wasTombstone) {
      this.noccupied++;
      this.maybeResize();
    }
  }

  remove(key: string, hash: number): void {
    const i = this.lookup(key, hash);
    if (this.hashes[i]! < 2) return;
    this.hashes[i] = TOMBSTONE;
    this.keys[i] = undefined;
    this.nnodes--;
    this.maybeResize();
  }

  private maybeResize(): void {
    if (
      (this.size > this.nnodes * 4 && this.size > 1 << MIN_SHIFT) ||
      this.size <= this.noccupied + (this.noccupied >> 4)
    )
      this.resize();
  }

  // GLib rehashes in place, walking old slots in order and evicting occupants; reproduced step by step
  // because the result depends on it.
  private resize(): void {
    const oldSize = this.size;
    let n = Math.trunc(this.nnodes * 1.333);
    let shift = 0;
    while (n) {
      n >>= 1;
      shift++;
    }
    this.setShift(Math.max(shift, MIN_SHIFT));
    const size = Math.max(this.size, oldSize);
    const hashes = this.hashes.concat(new Array<number>(size - oldSize).fill(UNUSED));
    const keys = this.keys.concat(new Array<string | undefined>(size - oldSize).fill(undefined));
    const relocated = new Array<boolean>(size).fill(false);
    for (let i = 0; i < oldSize; i++) {
      let nodeHash = hashes[i]!;
      if (nodeHash < 2) {
        hashes[i] = UNUSED;
        continue;
      }
      if (relocated[i]) continue;
      hashes[i] = UNUSED;
      let key = keys[i];
      keys[i] = undefined;
      for (;;) {
        let j = this.index(nodeHash);
        let step = 0;
        while (relocated[j]) {
          step++;
          j = (j + step) & this.mask;
        }
        relocated[j] = true;
        const replacedHash = hashes[j]!;
        const replacedKey = keys[j];
        hashes[j] = nodeHash;
        keys[j] = key;
        if (replacedHash < 2) break;
        nodeHash = replacedHash;
        key = replacedKey;
      }
    }
    this.hashes = hashes.slice(0, this.size);
    this.keys = keys.slice(0, this.size);
    this.noccupied = this.nnodes;
  }

  first(): string | undefined {
    for (let i = 0; i < this.size; i++) if (this.hashes[i]! >= 2) return this.keys[i];
    return undefined;
  }
}

/**
 * The unexpected member QEMU 7.2 names when an object has several: `keys` are the object's keys in
 * input order, `visited` the ones the visitor consumed (in visit order). Returns `undefined` when
 * every key was visited.
 */
export function firstUnexpectedKey(keys: readonly string[], visited: readonly string[]): string | undefined {
  const visitedSet = new Set(visited);
  const left = keys.filter((k) => !visitedSet.has(k));
  if (left.length <= 1) return left[0];
  const table = new GHashTableModel();
  const hashOf = new Map<string, number>();
  for (const k of qdictOrder(keys)) {
    let h = gStrHash(encoder.encode(k));
    if (h < 2) h = 2;
    hashOf.set(k, h);
    table.insert(k, h);
  }
  for (const k of visited) {
    const h = hashOf.get(k);
    if (h !== undefined) table.remove(k, h);
  }
  return table.first();
}
