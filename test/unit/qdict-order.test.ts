// QEMU's QDict bucket hash and output order, computed without a cache or an encoder.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QDICT_BUCKETS } from '../../src/limits.js';
import { qdictHash, qdictOrder } from '../../src/wire/index.js';

/** The hash of qobject/qdict.c written the plain way, over TextEncoder's bytes. */
function reference(key: string): number {
  const bytes = new TextEncoder().encode(key);
  let v = Math.imul(0x238f13af, bytes.length) >>> 0;
  for (let i = 0; i < bytes.length; i++) v = (v + ((bytes[i]! << ((i * 5) % 24)) >>> 0)) >>> 0;
  return ((Math.imul(1103515243, v) + 12345) >>> 0) % QDICT_BUCKETS;
}

test('qdictHash equals the byte-wise hash for ASCII, 2-, 3- and 4-byte characters and lone surrogates', () => {
  const keys = [
    '',
    'a',
    'running',
    'node-name',
    'é',
    'ß-key',
    '€uro',
    '日本語',
    '😀',
    'a😀b',
    '\ud800',
    'x\udc00y',
    '\ud83d',
  ];
  for (const k of keys) assert.equal(qdictHash(k), reference(k), JSON.stringify(k));
  // Seeded pseudo-random strings over the whole UTF-16 range, long ones included (the shift wraps at 24).
  let seed = 12345;
  const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  for (let n = 0; n < 2000; n++) {
    const len = next() % 40;
    let s = '';
    for (let i = 0; i < len; i++) s += String.fromCharCode(next() % 4 === 0 ? next() % 0x10000 : 0x20 + (next() % 95));
    assert.equal(qdictHash(s), reference(s), JSON.stringify(s));
  }
});

test('qdictOrder gives QEMU order: query-status answers status, singlestep, running', () => {
  // StatusInfo's members are inserted as running, singlestep, status; QEMU 7.2 prints them reversed.
  assert.deepEqual(qdictOrder(['running', 'singlestep', 'status']), ['status', 'singlestep', 'running']);
  assert.deepEqual(qdictOrder(['only']), ['only']);
  assert.deepEqual(qdictOrder([]), []);
});

test('qdictOrder: buckets ascending, the later key first within a bucket, for 2 to 60 keys', () => {
  // The reference: a plain sort by (bucket, insertion index descending).
  const expected = (keys: readonly string[]): string[] =>
    keys
      .map((k, i) => ({ k, i, b: qdictHash(k) }))
      .sort((x, y) => x.b - y.b || y.i - x.i)
      .map((x) => x.k);
  // Keys sharing buckets, so the within-bucket rule is exercised: group candidates by bucket.
  const byBucket = new Map<number, string[]>();
  for (let i = 0; i < 20000; i++) {
    const k = `k${i}`;
    const b = qdictHash(k);
    byBucket.set(b, [...(byBucket.get(b) ?? []), k]);
  }
  // (Similar keys fall into few buckets: QEMU's hash spreads them poorly.)
  const crowded = [...byBucket.values()].filter((ks) => ks.length >= 3);
  assert.ok(crowded.length >= 20, `${crowded.length} crowded buckets`);
  let seed = 99;
  const next = (n: number): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n;
  for (let round = 0; round < 500; round++) {
    const size = 2 + next(59);
    const picked = new Set<string>();
    while (picked.size < size) {
      const group = crowded[next(crowded.length)] as string[];
      picked.add(group[next(group.length)] as string);
    }
    const keys = [...picked];
    assert.deepEqual(qdictOrder(keys), expected(keys), JSON.stringify(keys));
  }
  // Two keys in one bucket: the one inserted last comes first, either way round.
  const [x, y] = crowded[0] as [string, string];
  assert.deepEqual(qdictOrder([x, y]), [y, x]);
  assert.deepEqual(qdictOrder([y, x]), [x, y]);
});
