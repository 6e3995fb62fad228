// decodeJson / decodeJsonLossless: exact integers, QEMU's inf/nan, strict JSON otherwise, bounded depth.
// Expectations come from JSON.parse or from hand-written values, never from the decoder itself.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { QmpLimitError, QmpProtocolError } from '../../src/errors/index.js';
import { MAX_DEPTH } from '../../src/limits.js';
import { decodeJson, decodeJsonLossless, encodeJson, type JsonValue } from '../../src/wire/index.js';
import { goldenScenarios, lineBytes, PROJECT_ROOT } from '../helpers/golden.js';
import { prng } from '../helpers/prng.js';

function deep(n: number, inner = '1'): string {
  return `${'['.repeat(n)}${inner}${']'.repeat(n)}`;
}

test('integers within ±(2^53−1) are numbers, integer tokens beyond are bigint', () => {
  const cases: [string, JsonValue][] = [
    ['9007199254740991', 9007199254740991],
    ['-9007199254740991', -9007199254740991],
    ['9007199254740992', 9007199254740992n],
    ['-9007199254740992', -9007199254740992n],
    ['9007199254740993', 9007199254740993n],
    ['18446744073709551615', 18446744073709551615n],
    ['18446744073709551616', 18446744073709551616n],
    ['-9223372036854775808', -9223372036854775808n],
    ['123456789012345678901234567890', 123456789012345678901234567890n],
    ['1000000000000000', 1000000000000000],
    ['0', 0],
    ['-0', -0],
  ];
  for (const [text, want] of cases) {
    assert.deepEqual(decodeJson(text), want, text);
    assert.deepEqual(decodeJson(`{"v": [${text}]}`), { v: [want] }, text);
  }
  assert.ok(Object.is(decodeJson('-0'), -0), '-0 keeps its sign, as with JSON.parse');
});

test('numbers with a fraction or an exponent stay doubles, however long', () => {
  for (const text of [
    '1.8446744073709552e+19',
    '9007199254740993.0',
    '9007199254740993e0',
    '12345678901234567890.5',
    '0.10000000000000001',
    '4.9406564584124654e-324',
    '1e400',
    '-1e400',
    '1E2',
    '2.5e-3',
    '-0.0',
    '1e-400',
  ]) {
    const got = decodeJson(text);
    assert.equal(typeof got, 'number', text);
    assert.ok(Object.is(got, JSON.parse(text)), text);
  }
});

test("QEMU's non-JSON inf, -inf and nan decode to numbers (and glibc's -nan)", () => {
  assert.deepEqual(decodeJson('{"return": {}, "id": inf}'), { return: {}, id: Number.POSITIVE_INFINITY });
  assert.deepEqual(decodeJson('[inf, -inf, nan, -nan, 1]'), [
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    Number.NaN,
    Number.NaN,
    1,
  ]);
  assert.ok(Number.isNaN(decodeJson('nan')));
  assert.equal(decodeJson(' -inf '), Number.NEGATIVE_INFINITY);
  for (const bad of ['infinity', 'nanx', 'Inf', 'NaN', '-in', '[inf1]']) {
    assert.throws(() => decodeJson(bad), QmpProtocolError, bad);
  }
});

test('strings: every escape, surrogates, raw UTF-8 from bytes', () => {
  const text = String.raw`["a\"b\\c\/d\b\f\n\r\t", "\u00e9\u00E9\ud83d\ude00\ud800", "x\u0000y", ""]`;
  assert.deepEqual(decodeJson(text), JSON.parse(text));
  const bytes = new TextEncoder().encode('{"k": "é😀中", "é": 1}');
  assert.deepEqual(decodeJson(bytes), { k: 'é😀中', é: 1 });
  assert.deepEqual(decodeJson(bytes.subarray(0, bytes.length)), { k: 'é😀中', é: 1 });
});

test('a member named __proto__ stays an ordinary member; duplicate names keep the last, like JSON.parse', () => {
  for (const text of ['{"__proto__": {"x": 1}, "a": 1}', '{"__proto__": 1, "n": 12345678901234567890}']) {
    const v = decodeJson(text) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.ok(Object.hasOwn(v, '__proto__'));
    assert.deepEqual(Object.keys(v), Object.keys(JSON.parse(text) as object));
  }
  assert.deepEqual(decodeJsonLossless('{"a": 1, "b": 2, "a": 3}'), JSON.parse('{"a": 1, "b": 2, "a": 3}'));
});

test('the lossless parser agrees with JSON.parse on every golden server line and the 207 KB schema', () => {
  let n = 0;
  for (const sc of Object.values(goldenScenarios())) {
    if (sc.argv.some((a) => a.includes('pretty=on'))) continue;
    for (const l of sc.wire) {
      if (l.dir !== 'S') continue;
      const text = lineBytes(l).toString('utf8');
      if (/\binf\b|\bnan\b|\d{16}/.test(text)) continue;
      assert.deepEqual(decodeJsonLossless(text), JSON.parse(text), text);
      n++;
    }
  }
  assert.ok(n > 500, `compared ${n} lines`);
  const schema = readFileSync(resolve(PROJECT_ROOT, 'data/qmp-schema-7.2.json'), 'utf8');
  assert.deepEqual(decodeJsonLossless(schema), JSON.parse(schema));
  assert.deepEqual(decodeJson(Buffer.from(schema)), JSON.parse(schema));
});

/** Random JSON values with a serializer of our own: random whitespace, random escaping, big integers. */
function randomDoc(rand: () => number): { text: string; value: JsonValue } {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const ws = (): string => pick(['', '', ' ', '\n', '\r\n', '\t', '  ']);
  const str = (): { text: string; value: string } => {
    let text = '"';
    let value = '';
    const n = Math.floor(rand() * 8);
    for (let i = 0; i < n; i++) {
      const code = pick([0x41, 0x22, 0x5c, 0x2f, 0x0a, 0x00, 0x1f, 0x7f, 0xe9, 0x4e2d, 0xd83d, 0xde00, 0x20, 0x7d]);
      const ch = String.fromCharCode(code);
      value += ch;
      if (code === 0x22 || code === 0x5c) text += `\\${ch}`;
      else if (code < 0x20 || code >= 0xd800 || rand() < 0.3) {
        const hex = code.toString(16).padStart(4, '0');
        text += `\\u${rand() < 0.5 ? hex : hex.toUpperCase()}`;
      } else text += ch;
    }
    return { text: `${text}"`, value };
  };
  const num = (): { text: string; value: JsonValue } => {
    switch (Math.floor(rand() * 7)) {
      case 0: {
        const v = BigInt(Math.floor(rand() * 2 ** 53)) * 10n ** BigInt(Math.floor(rand() * 8)) + 2n ** 53n;
        const s = rand() < 0.5 ? -v : v;
        return { text: s.toString(), value: s };
      }
      case 1: {
        const v = Math.floor((rand() - 0.5) * 2 * Number.MAX_SAFE_INTEGER);
        return { text: String(v), value: v };
      }
      case 2: {
        const v = (rand() - 0.5) * 10 ** Math.floor(rand() * 40 - 20);
        const text = String(v);
        // String() writes 1.5e19 as 15000000000000000000: an integer token, so exact.
        return { text, value: /^-?\d+$/.test(text) && !Number.isSafeInteger(v) ? BigInt(text) : v };
      }
      case 3:
        return pick([
          { text: 'inf', value: Number.POSITIVE_INFINITY },
          { text: '-inf', value: Number.NEGATIVE_INFINITY },
          { text: 'nan', value: Number.NaN },
        ]);
      case 4:
        return { text: '1.8446744073709552e+19', value: 18446744073709552000 };
      default: {
        const v = Math.floor(rand() * 1000);
        return { text: String(v), value: v };
      }
    }
  };
  const gen = (depth: number): { text: string; value: JsonValue } => {
    const r = rand();
    if (depth < 6 && r < 0.25) {
      const items = Array.from({ length: Math.floor(rand() * 5) }, () => gen(depth + 1));
      return {
        text: `[${ws()}${items.map((x) => `${x.text}${ws()}`).join(`,${ws()}`)}]`,
        value: items.map((x) => x.value),
      };
    }
    if (depth < 6 && r < 0.5) {
      const value: Record<string, JsonValue> = {};
      const parts: string[] = [];
      for (let i = Math.floor(rand() * 5); i > 0; i--) {
        const k = str();
        const v = gen(depth + 1);
        // A repeated name keeps its first place but takes the last value, as in JSON.parse.
        Object.defineProperty(value, k.value, { value: v.value, enumerable: true, writable: true, configurable: true });
        parts.push(`${k.text}${ws()}:${ws()}${v.text}`);
      }
      return { text: `{${ws()}${parts.join(`${ws()},${ws()}`)}${ws()}}`, value };
    }
    if (r < 0.65) return str();
    if (r < 0.7)
      return pick([
        { text: 'true', value: true },
        { text: 'false', value: false },
        { text: 'null', value: null },
      ]);
    return num();
  };
  const d = gen(0);
  return { text: `${ws()}${d.text}${ws()}`, value: d.value };
}

test('property: random documents (escapes, whitespace, big integers, inf/nan) decode to what they encode', () => {
  for (let seed = 1; seed <= 400; seed++) {
    const { text, value } = randomDoc(prng(seed));
    assert.deepEqual(decodeJson(text), value, `seed ${seed}: ${text}`);
    assert.deepEqual(decodeJson(Buffer.from(text)), value, `seed ${seed} (bytes)`);
  }
});

test('property: mutated documents either decode as JSON.parse does or fail with QMP_ERR_JSON', () => {
  const alphabet = '{}[]",:\\ 0123456789-+.eEtrufalsn\n';
  for (let seed = 1; seed <= 400; seed++) {
    const rand = prng(seed);
    const doc = JSON.stringify({ a: [1, 'x', { b: null, c: true }], d: -2.5e3, e: '\\"' });
    const chars = [...doc];
    for (let k = 1 + Math.floor(rand() * 3); k > 0; k--) {
      const at = Math.floor(rand() * chars.length);
      const op = rand();
      const ch = alphabet[Math.floor(rand() * alphabet.length)] as string;
      if (op < 0.4) chars.splice(at, 1);
      else if (op < 0.7) chars.splice(at, 0, ch);
      else chars[at] = ch;
    }
    const text = chars.join('');
    let expected: unknown;
    let valid = true;
    try {
      expected = JSON.parse(text);
    } catch {
      valid = false;
    }
    if (valid && !/\d{16}/.test(text)) {
      assert.deepEqual(decodeJson(text), expected, text);
    } else if (!valid && !/inf|nan/.test(text)) {
      assert.throws(
        () => decodeJson(text),
        (e: unknown) => e instanceof QmpProtocolError && e.code === 'QMP_ERR_JSON' && /near/.test(e.message),
        text,
      );
    }
  }
});

test('malformed JSON: QmpProtocolError with code QMP_ERR_JSON and an excerpt', () => {
  for (const bad of [
    '',
    '   ',
    '{',
    '{"a": 1',
    '{"a": }',
    '{"a" 1}',
    '{a: 1}',
    '[1, ]',
    '[1 2]',
    '01',
    '-',
    '1.',
    '.5',
    '1e',
    '+1',
    '"abc',
    '"a\\x"',
    '"\\u12G4"',
    '"tab\there"',
    '[1] [2]',
    '{"a": 1}}',
    'tru',
    'nul',
    "'single'",
  ]) {
    assert.throws(
      () => decodeJson(bad),
      (e: unknown) =>
        e instanceof QmpProtocolError && e.code === 'QMP_ERR_JSON' && e.message.startsWith('Invalid JSON:'),
      JSON.stringify(bad),
    );
  }
  assert.throws(() => decodeJson('{"return": {"status": runnin}}'), /near .*runnin/);
});

test('maxDepth: 1024 levels decode, 1025 are a QmpLimitError, on both the fast and the lossless path', () => {
  assert.equal(MAX_DEPTH, 1024);
  for (const inner of ['1', '12345678901234567890', 'inf']) {
    const ok = decodeJson(deep(1024, inner));
    assert.ok(Array.isArray(ok));
    for (const text of [deep(1025, inner), `{"a": ${deep(1024, inner)}}`]) {
      assert.throws(
        () => decodeJson(text),
        (e: unknown) =>
          e instanceof QmpLimitError && e.code === 'QMP_ERR_LIMIT' && e.limit === 'maxDepth' && e.max === 1024,
      );
    }
  }
  assert.deepEqual(decodeJson('{"a": {"b": []}}', { maxDepth: 3 }), { a: { b: [] } });
  assert.throws(() => decodeJson('{"a": {"b": []}}', { maxDepth: 2 }), QmpLimitError);
  assert.throws(() => decodeJson('{"a": {"b": [1e99999999999999999]}}', { maxDepth: 2 }), QmpLimitError);
  assert.match(
    (() => {
      try {
        decodeJson(deep(1025));
      } catch (e) {
        return String((e as Error).message);
      }
      return '';
    })(),
    /1024 levels.*maxDepth/,
  );
});

test('very deep input never overflows the stack', () => {
  for (const inner of ['1', '99999999999999999999']) {
    const text = deep(200_000, inner);
    assert.throws(() => decodeJson(text), QmpLimitError);
    const v = decodeJson(text, { maxDepth: 300_000 });
    assert.ok(Array.isArray(v));
  }
});

test('bigints survive encodeJson → decodeJson', () => {
  const v = { a: 2n ** 64n, b: -(2n ** 63n), c: [9007199254740993n, 9007199254740991], d: 18446744073709551615n };
  assert.deepEqual(decodeJson(encodeJson(v)), v);
});
