// JsonSplitter: any chunking, every framing (QEMU's CRLF lines, pretty=on, no newlines at all), exact
// numbers, limits at the edge and one past, recovery from bad input. Expected values come from an
// oracle built on JSON.parse, never from the splitter or the decoder.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { QmpLimitError, QmpProtocolError, QmpUsageError } from '../../src/errors/index.js';
import { MAX_MESSAGE_BYTES } from '../../src/limits.js';
import { type JsonSplitItem, JsonSplitter, type JsonValue } from '../../src/wire/index.js';
import { goldenScenarios, lineBytes, PROJECT_ROOT } from '../helpers/golden.js';
import { prng, randomSplit } from '../helpers/prng.js';

const SENTINEL = '\u0000oracle:';

/**
 * The expected decoding of one message, independent of the code under test: a regex tokenizer marks
 * integer tokens beyond 2^53−1 and QEMU's inf/nan as strings, JSON.parse does the rest.
 */
function oracle(text: string): unknown {
  const marked = text.replace(
    /"(?:[^"\\]|\\.)*"|(-?)(inf|nan)\b|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g,
    (m: string, sign: string | undefined, word: string | undefined) => {
      if (m.startsWith('"')) return m;
      if (word !== undefined) return JSON.stringify(`${SENTINEL}${sign ?? ''}${word}`);
      if (/^-?\d+$/.test(m) && !Number.isSafeInteger(Number(m))) return JSON.stringify(`${SENTINEL}big:${m}`);
      return m;
    },
  );
  return JSON.parse(marked, (_k, v: unknown) => {
    if (typeof v !== 'string' || !v.startsWith(SENTINEL)) return v;
    const tok = v.slice(SENTINEL.length);
    if (tok.startsWith('big:')) return BigInt(tok.slice(4));
    if (tok === 'inf') return Number.POSITIVE_INFINITY;
    if (tok === '-inf') return Number.NEGATIVE_INFINITY;
    return Number.NaN;
  });
}

interface Msg {
  /** The exact text of the message, no surrounding whitespace. */
  text: string;
}

function expectedItems(msgs: readonly Msg[]): unknown[] {
  return msgs.map((m) => ({ value: oracle(m.text), bytes: Buffer.byteLength(m.text), text: m.text }));
}

function feed(s: JsonSplitter, chunks: readonly Uint8Array[]): JsonSplitItem[] {
  const out: JsonSplitItem[] = [];
  for (const c of chunks) out.push(...s.push(c));
  return out;
}

function values(items: readonly JsonSplitItem[]): JsonValue[] {
  return items.map((it) => {
    if ('error' in it) throw it.error;
    return it.value;
  });
}

function isJsonError(it: JsonSplitItem | undefined): boolean {
  return (
    it !== undefined &&
    'error' in it &&
    it.error instanceof QmpProtocolError &&
    it.error.code === 'QMP_ERR_JSON' &&
    /near/.test(it.error.message)
  );
}

function limitOf(it: JsonSplitItem | undefined): QmpLimitError | undefined {
  return it !== undefined && 'error' in it && it.error instanceof QmpLimitError ? it.error : undefined;
}

function deep(n: number, inner = '1'): string {
  return `${'['.repeat(n)}${inner}${']'.repeat(n)}`;
}

/** Every message QEMU sent in the compact golden transcripts, including its `inf` and big integers. */
function goldenCompact(): Msg[] {
  const out: Msg[] = [];
  for (const sc of Object.values(goldenScenarios())) {
    if (sc.argv.some((a) => a.includes('pretty=on'))) continue;
    for (const l of sc.wire) {
      if (l.dir !== 'S') continue;
      const text = lineBytes(l).toString('utf8');
      assert.ok(text.endsWith('\r\n'));
      out.push({ text: text.slice(0, -2) });
    }
  }
  return out;
}

/** QEMU's pretty=on messages, cut by adding lines until JSON.parse accepts them. */
function goldenPretty(): Msg[] {
  const sc = goldenScenarios()['pretty'];
  assert.ok(sc);
  const out: Msg[] = [];
  let acc = '';
  for (const l of sc.wire) {
    if (l.dir !== 'S') continue;
    acc += lineBytes(l).toString('utf8');
    try {
      JSON.parse(acc);
    } catch {
      continue;
    }
    out.push({ text: acc.trim() });
    acc = '';
  }
  assert.equal(acc, '');
  assert.ok(out.length >= 5 && out.every((m) => m.text.includes('\r\n    ')), 'multi-line messages');
  return out;
}

function schemaReply(): Msg {
  return { text: `{"return": ${readFileSync(resolve(PROJECT_ROOT, 'data/qmp-schema-7.2.json'), 'utf8')}}` };
}

const SPECIAL: Msg[] = [
  {
    text:
      '{"return": {"a": 9007199254740991, "b": 9007199254740992, "c": -9007199254740992, "d": 18446744073709551615, ' +
      '"e": 18446744073709551616, "f": 1.8446744073709552e+19, "g": 0.10000000000000001, "h": -0, ' +
      '"i": [12345678901234567890, -1e400, 1E2, 2.5e-3]}}',
  },
  { text: '{"id": inf, "x": [-inf, nan, -nan, inf]}' },
  { text: JSON.stringify({ a: 'x"}{\\', b: '\\', c: '\\\\"', d: ['}', ']', '{', '[', '"'], e: '\u0000\u001f\n\\n' }) },
  { text: '{"s": "é😀中\\u00e9\\ud83d\\ude00", "é": ["ü", "\\"\\\\"], "\\u00fc": "x"}' },
  { text: '{"digits in a string": "12345678901234567890", "n": 1}' },
  { text: '{"event": "X", "data": {"v": [9223372036854775807, -9223372036854775808]}}' },
  { text: '[]' },
  { text: '{}' },
  { text: '[[[]], {"a": [{"b": {}}]}]' },
  { text: '{"a":\r\n 1,\n"b": [\n], "c": "\\r\\n"}' },
];

function shuffled<T>(xs: readonly T[], rand: () => number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
  return a;
}

type Framing = 'crlf' | 'lf' | 'mixed' | 'none';

function stream(msgs: readonly Msg[], framing: Framing, rand: () => number): Buffer {
  const seps = { crlf: ['\r\n'], lf: ['\n'], mixed: ['', ' ', '\n', '\r\n', '\t\r\n', '\r\n\r\n'], none: [''] }[
    framing
  ];
  let s = framing === 'mixed' ? ' \r\n' : '';
  msgs.forEach((m, i) => {
    s += m.text;
    // The mixed stream ends with a newline, so even the big reply at the end comes out.
    s += i === msgs.length - 1 && framing !== 'none' ? '\r\n' : (seps[Math.floor(rand() * seps.length)] as string);
  });
  return Buffer.from(s);
}

test('property: the golden corpus, pretty=on, big integers, escapes, non-ASCII, inf/nan — any framing, any split', () => {
  const small = [...goldenCompact(), ...goldenPretty(), ...SPECIAL];
  assert.ok(small.length > 1000, `corpus has ${small.length} messages`);
  const withSchema = [...small, schemaReply()];
  const runs: [Framing, number, boolean][] = [
    ['crlf', 1, false],
    ['crlf', 3, true],
    ['crlf', 64, true],
    ['crlf', 4096, true],
    ['crlf', 1 << 20, true],
    ['lf', 17, true],
    ['mixed', 1, false],
    ['mixed', 5, true],
    ['mixed', 300, true],
    ['mixed', 70_000, true],
    ['none', 1, false],
    ['none', 9, true],
    ['none', 4096, true],
    ['none', 1 << 20, true],
  ];
  let seed = 0;
  for (const [framing, maxPiece, schema] of runs) {
    seed++;
    const rand = prng(seed);
    const msgs = shuffled(schema ? withSchema : small, rand);
    const bytes = stream(msgs, framing, rand);
    const s = new JsonSplitter();
    const got = feed(s, randomSplit(bytes, rand, maxPiece));
    assert.deepEqual(got, expectedItems(msgs), `seed ${seed}: ${framing}, pieces up to ${maxPiece}`);
    assert.equal(s.bufferedBytes, 0);
  }
});

test('property: single messages split at every possible point in two and three pieces', () => {
  for (const m of [...SPECIAL, ...goldenPretty().slice(0, 2)]) {
    const bytes = Buffer.from(`${m.text}\r\n`);
    const want = expectedItems([m]);
    for (let i = 0; i <= bytes.length; i++) {
      const j = Math.min(bytes.length, i + 1 + (i % 5));
      const s = new JsonSplitter();
      assert.deepEqual(
        feed(s, [bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)]),
        want,
        `${m.text} split at ${i}, ${j}`,
      );
    }
  }
});

test('the 207 KB query-qmp-schema reply decodes equal to JSON.parse, whole, in 4 KiB chunks and byte by byte', () => {
  const m = schemaReply();
  const bytes = Buffer.from(`${m.text}\r\n`);
  const want = [{ value: JSON.parse(m.text), bytes: bytes.length - 2, text: m.text }];
  assert.deepEqual(new JsonSplitter().push(bytes), want);
  assert.deepEqual(feed(new JsonSplitter(), randomSplit(bytes, prng(1), 4096)), want);
  assert.deepEqual(
    feed(
      new JsonSplitter(),
      randomSplit(bytes, () => 0, 1),
    ),
    want,
  );
});

test('top-level scalars are returned as values', () => {
  const text = '1\r\n"s"\r\ntrue\r\nnull\r\n-inf\r\n12345678901234567890\r\n-0\r\n[1]\r\n"a}"\r\n';
  const want = [1, 's', true, null, Number.NEGATIVE_INFINITY, 12345678901234567890n, -0, [1], 'a}'];
  for (const piece of [1, 2, 5, 100]) {
    assert.deepEqual(values(feed(new JsonSplitter(), randomSplit(Buffer.from(text), prng(piece), piece))), want);
  }
});

test('a message is returned at once even when its newline has not come yet', () => {
  const s = new JsonSplitter();
  assert.deepEqual(values(s.push(Buffer.from('{"a": 1}\r\n{"b": 2}'))), [{ a: 1 }, { b: 2 }]);
  assert.deepEqual(s.push(Buffer.from('\r\n')), []);
  assert.deepEqual(values(s.push(Buffer.from('{"c": '))), []);
  assert.deepEqual(values(s.push(Buffer.from('[3]}'))), [{ c: [3] }]);
  // A peer that never sends a newline.
  const t = new JsonSplitter();
  assert.deepEqual(values(feed(t, [Buffer.from('{"x": "}"'), Buffer.from('}[1,'), Buffer.from('2]')])), [
    { x: '}' },
    [1, 2],
  ]);
});

test('chunks are copied when kept: the caller may reuse its buffer', () => {
  const s = new JsonSplitter();
  const buf = new Uint8Array(64);
  const put = (text: string): Uint8Array => {
    buf.fill(0x78);
    const n = Buffer.from(buf.buffer).write(text);
    return buf.subarray(0, n);
  };
  assert.deepEqual(s.push(put('{"first": "hal')), []);
  assert.deepEqual(s.push(put('f", "n": 1')), []);
  assert.deepEqual(values(s.push(put('}\r\n{"x":'))), [{ first: 'half', n: 1 }]);
  assert.deepEqual(values(s.push(put('\r\n2}\r\n'))), [{ x: 2 }]);
  assert.deepEqual(values(s.push(put('{"y":\r\n'))), []);
  assert.deepEqual(values(s.push(put('3}\r\n'))), [{ y: 3 }]);
});

/** The three ways a message can reach the splitter: QEMU's lines, after pretty=on output, no newlines. */
const FRAMINGS = {
  lines: (msg: string, next: string) => [Buffer.from(`${msg}\r\n${next}\r\n`)],
  pretty: (msg: string, next: string) => [Buffer.from(`{\r\n    "p": 1\r\n}\r\n${msg}\r\n${next}\r\n`)],
  none: (msg: string, next: string) => [Buffer.from(`${msg}${next}`)],
};

function limitRuns(msg: string, next: string): { name: string; chunks: Buffer[]; lead: number }[] {
  const runs: { name: string; chunks: Buffer[]; lead: number }[] = [];
  for (const [name, make] of Object.entries(FRAMINGS)) {
    const [bytes] = make(msg, next);
    assert.ok(bytes);
    for (const piece of [1, 7, 4096, bytes.length]) {
      runs.push({
        name: `${name}, pieces up to ${piece}`,
        chunks: randomSplit(bytes, prng(piece), piece),
        lead: name === 'pretty' ? 1 : 0,
      });
    }
  }
  return runs;
}

test('maxMessageBytes: exactly N bytes decode; N+1 give one QmpLimitError and the next message still decodes', () => {
  for (const msg of [
    `{"return": "${'x'.repeat(100)}"}`,
    `{"return": [${'1, '.repeat(40)}12345678901234567890]}`,
    `{"return": {\r\n    "s": "${'y'.repeat(60)}"\r\n}}`,
  ]) {
    const n = Buffer.byteLength(msg);
    for (const { name, chunks, lead } of limitRuns(msg, '{"id": 2}')) {
      const ok = feed(new JsonSplitter({ maxMessageBytes: n }), chunks);
      assert.equal(ok.length, 2 + lead, name);
      assert.deepEqual(ok[lead], { value: oracle(msg), bytes: n, text: msg }, name);

      const s = new JsonSplitter({ maxMessageBytes: n - 1 });
      const items = feed(s, chunks);
      assert.equal(items.length, 2 + lead, `${name}: ${JSON.stringify(items)}`);
      const err = limitOf(items[lead]);
      assert.ok(err, name);
      assert.equal(err.code, 'QMP_ERR_LIMIT');
      assert.equal(err.limit, 'maxMessageBytes');
      assert.equal(err.max, n - 1);
      assert.match(err.message, new RegExp(`${n - 1} bytes.*maxMessageBytes`));
      assert.deepEqual(items[lead + 1], { value: { id: 2 }, bytes: 9, text: '{"id": 2}' }, name);
      assert.equal(s.bufferedBytes, 0);
    }
  }
});

test('maxMessageBytes at its default of 10 MiB', () => {
  assert.equal(MAX_MESSAGE_BYTES, 10 * 1024 * 1024);
  const head = '{"return": "';
  const body = (n: number) => Buffer.from(`${head}${'z'.repeat(n - head.length - 2)}"}\r\n{"id": 3}\r\n`);
  const ok = feed(new JsonSplitter(), randomSplit(body(MAX_MESSAGE_BYTES), prng(3), 65536));
  assert.equal(ok.length, 2);
  assert.equal((ok[0] as { bytes: number }).bytes, MAX_MESSAGE_BYTES);
  const bad = feed(new JsonSplitter(), randomSplit(body(MAX_MESSAGE_BYTES + 1), prng(4), 65536));
  assert.equal(bad.length, 2);
  assert.equal(limitOf(bad[0])?.max, MAX_MESSAGE_BYTES);
  assert.deepEqual(values(bad.slice(1)), [{ id: 3 }]);
});

test('a message past the limit is skipped without being buffered', () => {
  for (const framing of ['lines', 'pretty', 'none'] as const) {
    const s = new JsonSplitter({ maxMessageBytes: 1000 });
    const items: JsonSplitItem[] = [];
    if (framing === 'pretty') items.push(...s.push(Buffer.from('{\r\n  "p": 1\r\n}\r\n')));
    items.push(...s.push(Buffer.from('{"a": ["')));
    const piece = Buffer.from(`${'q'.repeat(4000)}", "\\"{[`);
    for (let i = 0; i < 500; i++) {
      items.push(...s.push(piece));
      assert.ok(s.bufferedBytes <= 1000, `${framing}: ${s.bufferedBytes} bytes held`);
    }
    items.push(...s.push(Buffer.from(`"]}${framing === 'none' ? '' : '\r\n'}{"ok": true}\r\n`)));
    const lead = framing === 'pretty' ? 1 : 0;
    assert.equal(items.length, 2 + lead, framing);
    assert.equal(limitOf(items[lead])?.limit, 'maxMessageBytes', framing);
    assert.deepEqual(values(items.slice(lead + 1)), [{ ok: true }], framing);
  }
  // A top-level string or word past the limit is skipped too.
  const s = new JsonSplitter({ maxMessageBytes: 100 });
  const items = feed(s, [Buffer.from(' "'), Buffer.alloc(5000, 0x61), Buffer.from('" 123'), Buffer.alloc(500, 0x34)]);
  assert.ok(s.bufferedBytes <= 100);
  items.push(...s.push(Buffer.from(' {"ok": 1}\r\n')));
  assert.equal(items.length, 3);
  assert.equal(limitOf(items[0])?.limit, 'maxMessageBytes');
  assert.equal(limitOf(items[1])?.limit, 'maxMessageBytes');
  assert.deepEqual(values(items.slice(2)), [{ ok: 1 }]);
});

test('maxDepth: 1024 levels decode; 1025 give one QmpLimitError and the next message still decodes', () => {
  for (const inner of ['1', '12345678901234567890', 'inf']) {
    const good = `{"a": ${deep(1023, inner)}}`;
    const bad = `{"a": ${deep(1024, inner)}}`;
    for (const { name, chunks, lead } of limitRuns(good, '{"id": 1}')) {
      const items = feed(new JsonSplitter(), chunks);
      assert.equal(items.length, 2 + lead, name);
      assert.deepEqual(items[lead], { value: oracle(good), bytes: good.length, text: good }, `${name} ${inner}`);
    }
    for (const { name, chunks, lead } of limitRuns(bad, '{"id": 1}')) {
      const s = new JsonSplitter();
      const items = feed(s, chunks);
      assert.equal(items.length, 2 + lead, `${name} ${inner}: ${items.length} items`);
      const err = limitOf(items[lead]);
      assert.ok(err, `${name} ${inner}`);
      assert.equal(err.limit, 'maxDepth');
      assert.equal(err.max, 1024);
      assert.match(err.message, /1024 levels.*maxDepth/);
      assert.deepEqual(items[lead + 1], { value: { id: 1 }, bytes: 9, text: '{"id": 1}' }, name);
      assert.equal(s.bufferedBytes, 0);
    }
  }
  const s = new JsonSplitter({ maxDepth: 2 });
  assert.deepEqual(values(s.push(Buffer.from('{"a": {}}\r\n'))), [{ a: {} }]);
  const items = s.push(Buffer.from('{"a": {"b": []}}\r\n[[[1]]]\r\n[[2]]'));
  assert.equal(items.length, 3);
  assert.equal(limitOf(items[0])?.max, 2);
  assert.equal(limitOf(items[1])?.max, 2);
  assert.deepEqual(values(items.slice(2)), [[[2]]]);
});

test('very deep input is skipped with bounded memory, whatever the framing', () => {
  for (const nl of ['', '\r\n']) {
    const s = new JsonSplitter({ maxMessageBytes: 1 << 20 });
    const items = feed(s, [
      ...Array.from({ length: 20 }, () => Buffer.alloc(50_000, 0x5b)),
      ...Array.from({ length: 20 }, () => Buffer.alloc(50_000, 0x5d)),
      Buffer.from(`${nl}{"after": 1}${nl}`),
    ]);
    assert.equal(items.length, 2);
    assert.equal(limitOf(items[0])?.limit, 'maxDepth');
    assert.deepEqual(values(items.slice(1)), [{ after: 1 }]);
  }
});

test('malformed input gives QMP_ERR_JSON items with an excerpt, never throws, and the next message decodes', () => {
  const bad = [
    '}',
    ']',
    'xyz',
    ',',
    '{"a": tru}',
    '{"b": 1,}',
    '{"a": [1}',
    '{"a": 1]',
    '[1, 2 3]',
    '{"a" 1}',
    '"bad \\x escape"',
    '{"c": "unterminated',
    '{"t": "raw\ttab"}',
    '{"q": 01}',
  ];
  for (const b of bad) {
    for (const piece of [1, 3, 1000]) {
      const s = new JsonSplitter();
      const text = `${b}\r\n{"ok": 1}\r\n`;
      const items = feed(s, randomSplit(Buffer.from(text), prng(piece), piece));
      assert.ok(items.length >= 2, `${JSON.stringify(b)}: ${items.length} items`);
      assert.ok(items.slice(0, -1).every(isJsonError), `${JSON.stringify(b)} (${piece}): ${JSON.stringify(items)}`);
      assert.deepEqual(items[items.length - 1], { value: { ok: 1 }, bytes: 9, text: '{"ok": 1}' }, JSON.stringify(b));
    }
  }
  // Garbage between messages on one line.
  const s = new JsonSplitter();
  const items = s.push(Buffer.from('{"a": 1} xyz {"b": 2}}{"c": 3}\r\n'));
  assert.deepEqual(
    items.map((i) => ('error' in i ? 'error' : i.value)),
    [{ a: 1 }, 'error', { b: 2 }, 'error', { c: 3 }],
  );
  assert.ok(items.filter((i) => 'error' in i).every(isJsonError));
});

test('strings and escapes split across chunk ends are not mistaken for the end of a message', () => {
  const s = new JsonSplitter();
  const chunks = ['{"a": "ab', 'c\\', '"}\\\\', '"', '}', '\r\n', '{"b": "\\', '\\', '"}\r\n'].map((x) =>
    Buffer.from(x),
  );
  assert.deepEqual(values(feed(s, chunks)), [{ a: 'abc"}\\' }, { b: '\\' }]);
});

test('truncated input is held, not thrown; reset() drops it', () => {
  const s = new JsonSplitter();
  assert.deepEqual(s.push(Buffer.from('{"return": [1, 2, {"x": "y')), []);
  assert.ok(s.bufferedBytes > 0);
  s.reset();
  assert.equal(s.bufferedBytes, 0);
  assert.deepEqual(values(s.push(Buffer.from('{"after": "reset"}'))), [{ after: 'reset' }]);
  // Also after the splitter switched to the byte scanner (pretty=on).
  const p = new JsonSplitter();
  assert.deepEqual(p.push(Buffer.from('{\r\n    "a": [\r\n')), []);
  assert.ok(p.bufferedBytes > 0);
  p.reset();
  assert.deepEqual(values(p.push(Buffer.from('{"b": 1}\r\n'))), [{ b: 1 }]);
});

test('random garbage never throws and never holds more than the limit', () => {
  const alphabet = Buffer.from('{}[]",:\\ \r\n0123456789abcdefinultrue-.eE\u00e9');
  for (let seed = 1; seed <= 20; seed++) {
    const rand = prng(seed);
    const s = new JsonSplitter({ maxMessageBytes: 512, maxDepth: 8 });
    for (let round = 0; round < 100; round++) {
      const b = Buffer.alloc(1 + Math.floor(rand() * 300));
      for (let i = 0; i < b.length; i++) b[i] = alphabet[Math.floor(rand() * alphabet.length)] ?? 0x20;
      for (const it of s.push(b)) {
        if ('error' in it) assert.ok(it.error instanceof QmpProtocolError || it.error instanceof QmpLimitError);
      }
      assert.ok(s.bufferedBytes <= 512);
    }
    s.reset();
    assert.deepEqual(values(s.push(Buffer.from('{"still": "works"}\n'))), [{ still: 'works' }]);
  }
});

test('options must be numbers >= 1', () => {
  for (const bad of [0, -1, Number.NaN]) {
    assert.throws(() => new JsonSplitter({ maxMessageBytes: bad }), QmpUsageError);
    assert.throws(() => new JsonSplitter({ maxDepth: bad }), QmpUsageError);
  }
});
