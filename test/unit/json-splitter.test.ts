import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { QmpLimitError, QmpProtocolError } from '../../src/errors/index.js';
import { type JsonSplitItem, JsonSplitter, type JsonValue } from '../../src/wire/index.js';
import { goldenScenarios, lineBytes, PROJECT_ROOT } from '../helpers/golden.js';
import { prng, randomSplit } from '../helpers/prng.js';

function values(items: JsonSplitItem[]): JsonValue[] {
  return items.map((it) => {
    if ('error' in it) throw it.error;
    return it.value;
  });
}

function feed(s: JsonSplitter, chunks: Buffer[]): JsonSplitItem[] {
  const out: JsonSplitItem[] = [];
  for (const c of chunks) out.push(...s.push(c));
  return out;
}

/** Every line QEMU sent in the golden transcripts, except the lines with QEMU's non-JSON `inf`. */
function serverStream(): { bytes: Buffer; expected: unknown[] } {
  const parts: Buffer[] = [];
  const expected: unknown[] = [];
  for (const sc of Object.values(goldenScenarios())) {
    if (sc.argv.some((a) => a.includes('pretty=on'))) continue;
    for (const l of sc.wire) {
      if (l.dir !== 'S') continue;
      const b = lineBytes(l);
      const text = b.toString('utf8');
      if (/\binf\b|\bnan\b/.test(text) || /\d{16,}/.test(text)) continue;
      parts.push(b);
      expected.push(JSON.parse(text));
    }
  }
  return { bytes: Buffer.concat(parts), expected };
}

test('every golden server line, split at random points, decodes as JSON.parse does', () => {
  const { bytes, expected } = serverStream();
  assert.ok(expected.length > 100, `corpus has ${expected.length} messages`);
  for (const [seed, maxPiece] of [
    [1, 1],
    [2, 3],
    [3, 17],
    [4, 256],
    [5, 4096],
    [6, bytes.length],
  ] as const) {
    const got = values(feed(new JsonSplitter(), randomSplit(bytes, prng(seed), maxPiece)));
    assert.deepEqual(got, expected, `seed ${seed}, pieces up to ${maxPiece}`);
  }
});

test("QEMU's pretty=on output (multi-line, CRLF) splits into whole messages", () => {
  const sc = goldenScenarios()['pretty'];
  assert.ok(sc);
  const bytes = Buffer.concat(sc.wire.filter((l) => l.dir === 'S').map(lineBytes));
  assert.ok(bytes.toString().includes('\r\n    '), 'the transcript is really multi-line');
  for (let seed = 10; seed < 20; seed++) {
    const got = values(feed(new JsonSplitter(), randomSplit(bytes, prng(seed), 7)));
    assert.ok(got.length >= 2);
    const g = got[0] as { QMP: { version: { qemu: { major: number } } } };
    assert.equal(g.QMP.version.qemu.major, 7);
    assert.deepEqual(got[1], { return: {} });
  }
});

test('the 207 KB query-qmp-schema reply decodes equal to JSON.parse, whole and in pieces', () => {
  const schema = readFileSync(resolve(PROJECT_ROOT, 'data/qmp-schema-7.2.json'), 'utf8');
  const bytes = Buffer.from(`{"return": ${schema}, "id": 1}\r\n`);
  const expected = JSON.parse(bytes.toString());
  assert.deepEqual(values(new JsonSplitter().push(bytes)), [expected]);
  assert.deepEqual(values(feed(new JsonSplitter(), randomSplit(bytes, prng(99), 1000))), [expected]);
});

test('integers beyond 2^53-1 decode to bigint, others stay numbers', () => {
  const text =
    '{"return": {"a": 9007199254740991, "b": 9007199254740992, "c": -9007199254740992, "d": 18446744073709551615, ' +
    '"e": 9007199254740993, "f": 1.8446744073709552e+19, "g": 0.10000000000000001, "h": -0, "i": [12345678901234567890]}}\r\n';
  for (let seed = 0; seed < 20; seed++) {
    const [v] = values(feed(new JsonSplitter(), randomSplit(Buffer.from(text), prng(seed), 5)));
    assert.deepEqual(v, {
      return: {
        a: 9007199254740991,
        b: 9007199254740992n,
        c: -9007199254740992n,
        d: 18446744073709551615n,
        e: 9007199254740993n,
        f: 1.8446744073709552e19,
        g: 0.1,
        h: -0,
        i: [12345678901234567890n],
      },
    });
  }
});

test("QEMU's non-JSON inf/nan tokens decode instead of failing", () => {
  const [v] = values(new JsonSplitter().push(Buffer.from('{"return": {}, "id": inf}\r\n{"x": [-inf, nan]}\r\n')));
  assert.deepEqual(v, { return: {}, id: Number.POSITIVE_INFINITY });
});

test('strings with escaped quotes and backslashes split anywhere, and non-ASCII', () => {
  const msgs = [{ a: 'x"}{\\', b: '\\' }, { c: 'é😀\u0000"\\"' }, { d: ['\\\\"', '}', ']'] }];
  const bytes = Buffer.from(`${msgs.map((m) => JSON.stringify(m)).join('\r\n')}\r\n`);
  for (let seed = 0; seed < 50; seed++) {
    assert.deepEqual(values(feed(new JsonSplitter(), randomSplit(bytes, prng(seed), 3))), msgs);
  }
});

test('maxMessageBytes: exactly at the limit decodes; one past is skipped and the next message survives', () => {
  const msg = '{"return": "xxxxxxxxxx"}';
  const n = Buffer.byteLength(msg);
  const ok = new JsonSplitter({ maxMessageBytes: n });
  assert.deepEqual(values(ok.push(Buffer.from(`${msg}\r\n`))), [{ return: 'xxxxxxxxxx' }]);
  for (const piece of [1, 4, 1000]) {
    const s = new JsonSplitter({ maxMessageBytes: n - 1 });
    const items = feed(s, randomSplit(Buffer.from(`${msg}\r\n{"id": 2}\r\n`), prng(piece), piece));
    assert.equal(items.length, 2);
    const first = items[0];
    assert.ok(first && 'error' in first && first.error instanceof QmpLimitError);
    assert.equal(first.error.code, 'QMP_ERR_LIMIT');
    assert.equal((first.error as QmpLimitError).limit, 'maxMessageBytes');
    assert.deepEqual(items[1], { value: { id: 2 }, bytes: 9 });
  }
});

test('a huge message is never buffered whole', () => {
  const s = new JsonSplitter({ maxMessageBytes: 1000 });
  const big = Buffer.alloc(5000, 0x61);
  const errors = [...s.push(Buffer.from('{"a": [')), ...s.push(big.fill('1,')), ...s.push(big.fill('2,'))];
  assert.equal(errors.length, 1);
  assert.ok(s.bufferedBytes <= 1000);
  assert.deepEqual(values(s.push(Buffer.from('3]}\r\n{"ok": true}\r\n'))), [{ ok: true }]);
});

test('maxDepth: 1024 levels decode, 1025 are skipped with a limit error, then recovery', () => {
  const deep = (n: number): string => `${'['.repeat(n)}${']'.repeat(n)}`;
  const s = new JsonSplitter();
  const [v] = values(s.push(Buffer.from(`{"id": ${deep(1023)}}\r\n`)));
  assert.ok(v !== undefined);
  const items = s.push(Buffer.from(`{"id": ${deep(1024)}}\r\n{"return": {}}\r\n`));
  assert.equal(items.length, 2);
  assert.ok(items[0] && 'error' in items[0] && items[0].error instanceof QmpLimitError);
  assert.equal((items[0].error as QmpLimitError).limit, 'maxDepth');
  assert.deepEqual(items[1], { value: { return: {} }, bytes: 14 });
  const small = new JsonSplitter({ maxDepth: 2 });
  assert.equal(values(small.push(Buffer.from('{"a":{}}'))).length, 1);
  assert.ok('error' in (small.push(Buffer.from('{"a":{"b":[]}}'))[0] ?? {}));
});

test('malformed input gives errors, never throws, and later messages still decode', () => {
  const s = new JsonSplitter();
  const items = feed(s, [
    Buffer.from('}\r\n{"a": tru}\r\n{"b": 1,}\r\n'),
    Buffer.from('{"ok": 1}\r\n'),
    Buffer.from('{"c": "unterminated'),
  ]);
  const errs = items.filter((i) => 'error' in i);
  assert.equal(errs.length, 3);
  for (const e of errs)
    assert.ok('error' in e && e.error instanceof QmpProtocolError && e.error.code === 'QMP_ERR_JSON');
  assert.deepEqual(
    items.filter((i) => 'value' in i).map((i) => ('value' in i ? i.value : null)),
    [{ ok: 1 }],
  );
  assert.ok(s.bufferedBytes > 0);
  s.reset();
  assert.equal(s.bufferedBytes, 0);
  assert.deepEqual(values(s.push(Buffer.from('{"after": "reset"}'))), [{ after: 'reset' }]);
});

test('random garbage never throws or grows the buffer past the limit', () => {
  const rand = prng(7);
  const s = new JsonSplitter({ maxMessageBytes: 4096 });
  const alphabet = Buffer.from('{}[]",:\\ \r\n0123456789abcdefnultrue-.eE\u00e9');
  for (let round = 0; round < 200; round++) {
    const b = Buffer.alloc(1 + Math.floor(rand() * 300));
    for (let i = 0; i < b.length; i++) b[i] = alphabet[Math.floor(rand() * alphabet.length)] ?? 0x20;
    s.push(b);
    assert.ok(s.bufferedBytes <= 4096);
  }
  s.reset();
  assert.deepEqual(values(s.push(Buffer.from('{"still": "works"}\n'))), [{ still: 'works' }]);
});
