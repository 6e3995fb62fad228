import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QmpUsageError } from '../../src/errors/index.js';
import { decodeJson, encodeJson, encodeMessage } from '../../src/wire/index.js';

test('compact output, one message per line', () => {
  assert.equal(encodeJson({ execute: 'query-status', id: 1 }), '{"execute":"query-status","id":1}');
  assert.equal(encodeMessage({ a: [true, null, 'x'] }), '{"a":[true,null,"x"]}\n');
  assert.equal(encodeJson({ a: undefined, b: 1 }), '{"b":1}');
  assert.equal(encodeJson([undefined]), '[null]');
});

test('ASCII-only: control, DEL, non-ASCII and astral characters are escaped', () => {
  const s = encodeJson({ s: 'é\u007f\n\u0001😀"\\/' });
  assert.match(s, /^[\x20-\x7e]*$/);
  assert.deepEqual(decodeJson(s), { s: 'é\u007f\n\u0001😀"\\/' });
  assert.equal(encodeJson('\ud800'), '"\\ud800"');
});

test('bigint is a plain integer and round-trips exactly', () => {
  const v = { 'max-bandwidth': 9007199254740993n, n: -18446744073709551615n };
  const s = encodeJson(v);
  assert.equal(s, '{"max-bandwidth":9007199254740993,"n":-18446744073709551615}');
  assert.deepEqual(decodeJson(s), v);
});

test('values JSON cannot hold are usage errors', () => {
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, { a: Number.NEGATIVE_INFINITY }, undefined, () => 1]) {
    assert.throws(() => encodeJson(bad), QmpUsageError);
  }
  const cyc: Record<string, unknown> = {};
  cyc['self'] = cyc;
  assert.throws(() => encodeJson(cyc), QmpUsageError);
});

test('depth: 1024 levels encode, 1025 fail', () => {
  const nest = (n: number): unknown => {
    let v: unknown = 1;
    for (let i = 0; i < n; i++) v = [v];
    return v;
  };
  assert.ok(encodeJson(nest(1024)).startsWith('[['));
  assert.throws(() => encodeJson(nest(1025)), QmpUsageError);
});
