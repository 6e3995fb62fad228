// encodeJson / encodeMessage: compact, ASCII-only, bigint, the JSON.stringify rules for undefined, and
// usage errors for what JSON cannot hold.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QmpUsageError } from '../../src/errors/index.js';
import { MAX_DEPTH } from '../../src/limits.js';
import { decodeJson, encodeJson, encodeMessage } from '../../src/wire/index.js';
import { prng } from '../helpers/prng.js';

const ASCII_ONLY = /^[\x20-\x7e]*$/;

test('compact output, one message per line', () => {
  assert.equal(encodeJson({ execute: 'query-status', id: 1 }), '{"execute":"query-status","id":1}');
  assert.equal(encodeJson({ a: 1, b: [true, null] }), '{"a":1,"b":[true,null]}');
  assert.equal(encodeMessage({ a: [true, null, 'x'] }), '{"a":[true,null,"x"]}\n');
  assert.equal(encodeJson([]), '[]');
  assert.equal(encodeJson({}), '{}');
  assert.equal(encodeJson('x'), '"x"');
  assert.equal(encodeJson(-1.5e300), '-1.5e+300');
  assert.equal(encodeJson(null), 'null');
  assert.equal(encodeJson(false), 'false');
});

test('undefined, functions and symbols are left out of objects and become null in arrays', () => {
  assert.equal(encodeJson({ a: undefined, b: 1, f: () => 1, s: Symbol('s') }), '{"b":1}');
  assert.equal(encodeJson([undefined, () => 1, Symbol('s'), 2]), '[null,null,null,2]');
  assert.equal(encodeJson({ a: undefined, n: 1n }), '{"n":1}');
  // biome-ignore lint/suspicious/noSparseArray: a hole in an array is what is tested
  assert.equal(encodeJson([1, , 3]), '[1,null,3]');
});

test('escapes: quote and backslash, and every control character as \\u00XX', () => {
  assert.equal(encodeJson('a"b\\c/d'), '"a\\"b\\\\c/d"');
  assert.equal(encodeJson('\n\r\t\b\f\u0000\u001f'), '"\\u000a\\u000d\\u0009\\u0008\\u000c\\u0000\\u001f"');
  assert.equal(encodeJson({ 'k\n': 'v\t' }), '{"k\\u000a":"v\\u0009"}');
  // A backslash followed by n is not a newline.
  assert.equal(encodeJson('\\n\\\n'), '"\\\\n\\\\\\u000a"');
  assert.equal(encodeJson({ s: '\\n', n: 1n }), '{"s":"\\\\n","n":1}');
});

test('ASCII-only: DEL, non-ASCII, astral characters and lone surrogates are \\uXXXX', () => {
  assert.equal(encodeJson('é\u007f😀\ud800'), '"\\u00e9\\u007f\\ud83d\\ude00\\ud800"');
  assert.equal(encodeJson({ é: ['中'] }), '{"\\u00e9":["\\u4e2d"]}');
  assert.equal(encodeJson({ d: ['\u007f', 'x'] }), '{"d":["\\u007f","x"]}');
  const s = encodeJson({ s: 'é\u007f\n\u0001😀"\\/', big: 2n ** 70n });
  assert.match(s, ASCII_ONLY);
  assert.deepEqual(decodeJson(s), { s: 'é\u007f\n\u0001😀"\\/', big: 2n ** 70n });
});

test('property: random strings in keys and values come out ASCII-only and decode back', () => {
  const units = [
    0x00, 0x09, 0x0a, 0x1f, 0x20, 0x22, 0x2f, 0x41, 0x5c, 0x6e, 0x7e, 0x7f, 0x80, 0xe9, 0x2028, 0xd800, 0xdbff, 0xdc00,
    0xfeff, 0xffff,
  ];
  for (let seed = 1; seed <= 300; seed++) {
    const rand = prng(seed);
    const str = (): string => {
      let s = '';
      for (let n = Math.floor(rand() * (rand() < 0.1 ? 80 : 10)); n > 0; n--) {
        s += String.fromCharCode(units[Math.floor(rand() * units.length)] as number);
      }
      return s;
    };
    const value: Record<string, unknown> = {};
    for (let i = Math.floor(rand() * 5); i >= 0; i--) {
      value[str()] = rand() < 0.3 ? [str(), Math.floor(rand() * 100)] : rand() < 0.5 ? { [str()]: str() } : str();
    }
    if (rand() < 0.3) value['big'] = -(2n ** 64n) - BigInt(seed);
    const out = encodeJson(value);
    assert.match(out, ASCII_ONLY, `seed ${seed}`);
    assert.deepEqual(decodeJson(out), value, `seed ${seed}`);
    if (value['big'] === undefined) assert.deepEqual(JSON.parse(out), value, `seed ${seed}`);
  }
});

test('bigint is a plain integer and round-trips exactly', () => {
  const v = { 'max-bandwidth': 9007199254740993n, n: -18446744073709551615n, m: [2n ** 64n, 0n, -1n] };
  const s = encodeJson(v);
  assert.equal(s, '{"max-bandwidth":9007199254740993,"n":-18446744073709551615,"m":[18446744073709551616,0,-1]}');
  // Small integers come back as numbers: only those beyond 2^53−1 need bigint.
  assert.deepEqual(decodeJson(s), { ...v, m: [2n ** 64n, 0, -1] });
  assert.equal(encodeJson(18446744073709551615n), '18446744073709551615');
});

test('toJSON, class instances and null-prototype objects encode as JSON.stringify does', () => {
  class Point {
    constructor(
      readonly x: number,
      readonly y: number,
    ) {}
  }
  const bare = Object.assign(Object.create(null) as object, { a: 1 });
  const v = { d: new Date(0), p: new Point(1, 2), bare, j: { toJSON: () => ({ k: 'é' }) } };
  assert.equal(encodeJson(v), '{"d":"1970-01-01T00:00:00.000Z","p":{"x":1,"y":2},"bare":{"a":1},"j":{"k":"\\u00e9"}}');
  assert.equal(encodeJson({ o: { ['__proto__']: 1 } }), JSON.stringify({ o: { ['__proto__']: 1 } }));
});

test('values JSON cannot hold are usage errors', () => {
  const nonFinite = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
  for (const bad of [
    ...nonFinite,
    ...nonFinite.map((x) => ({ a: { b: [1, x] } })),
    undefined,
    () => 1,
    Symbol('s'),
    new Map([[1, 2]]),
    { s: new Set([1]) },
    { toJSON: () => Number.NaN },
  ]) {
    assert.throws(
      () => encodeJson(bad),
      (e: unknown) => e instanceof QmpUsageError && e.code === 'QMP_ERR_USAGE',
      String(bad),
    );
  }
  assert.throws(() => encodeJson({ a: { b: [1, Number.NaN] } }), /NaN at value\.a\.b\[1\]/);
});

test('cycles are usage errors, not stack overflows', () => {
  const cyc: Record<string, unknown> = { a: 1 };
  cyc['self'] = cyc;
  assert.throws(() => encodeJson(cyc), QmpUsageError);
  const arr: unknown[] = [];
  arr.push({ arr });
  assert.throws(() => encodeJson(arr), /cycle/);
});

test('depth: 1024 levels encode, 1025 fail', () => {
  assert.equal(MAX_DEPTH, 1024);
  const nest = (n: number, obj: boolean, inner: unknown): unknown => {
    let v = inner;
    for (let i = 0; i < n; i++) v = obj ? { v } : [v];
    return v;
  };
  // 1 takes the JSON.stringify fast path, 1n the exact encoder.
  for (const inner of [1, 1n]) {
    for (const obj of [false, true]) {
      const want = obj ? `${'{"v":'.repeat(1024)}1${'}'.repeat(1024)}` : `${'['.repeat(1024)}1${']'.repeat(1024)}`;
      assert.equal(encodeJson(nest(1024, obj, inner)), want);
      assert.throws(() => encodeJson(nest(1025, obj, inner)), QmpUsageError);
    }
  }
});
