// QemuJsonParser against texts recorded from QEMU 7.2 (`-qmp stdio`, bytes fed with printf), and the
// memory one huge request costs, measured in a child process that owns its heap.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { QemuJsonParser, type QemuParseItem } from '../../src/wire/index.js';

function parse(bytes: Buffer | string, options = {}): Array<string | unknown> {
  const p = new QemuJsonParser(options);
  const items: QemuParseItem[] = p.push(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  return items.map((it) => ('error' in it ? it.error : it.value));
}

test('invalid UTF-8 in stray tokens is shown as QEMU shows it', () => {
  // QEMU 7.2: `tru\xff` is an invalid keyword and then a stray byte, not one stray token.
  assert.deepEqual(parse('tru\xff'), ["JSON parse error, invalid keyword 'tru'", "JSON parse error, stray '\uFFFD'"]);
  assert.deepEqual(parse('tru\xc3\xa9').slice(0, 2), [
    "JSON parse error, invalid keyword 'tru'",
    "JSON parse error, stray '\uFFFD'",
  ]);
  // C0 80 is modified UTF-8 for U+0000: QEMU prints \u0000 for it.
  assert.deepEqual(parse("'a\xc0\x80\x01'"), ["JSON parse error, stray ''a\u0000\u0001'"]);
  assert.deepEqual(parse('"a\xc0\x80b\xff\x01"'), [
    "JSON parse error, stray '\"a\u0000b\uFFFD'",
    "JSON parse error, stray '\u0001'",
  ]);
  // One U+FFFD per invalid sequence, however long.
  assert.deepEqual(parse('"\xf8\x88\x80\x80\x80z\x01"'), ["JSON parse error, stray '\"\uFFFDz\u0001'"]);
  assert.deepEqual(parse('"\xe0\x80\x01"'), ["JSON parse error, stray '\"\uFFFD\u0001'"]);
  assert.deepEqual(parse('"\xed\xa0\x80\x01"'), ["JSON parse error, stray '\"\uFFFD\u0001'"]);
  assert.deepEqual(parse('\xc0\x80x\n'), ["JSON parse error, stray '\uFFFD'"]);
  // Non-ASCII bytes end numbers; incomplete numbers take them into the stray token.
  assert.deepEqual(parse('[0\xc3'), ["JSON parse error, stray '\uFFFD'"]);
  assert.deepEqual(parse('[1.\xff'), ["JSON parse error, stray '1.\uFFFD'"]);
  assert.deepEqual(parse('-\xff'), ["JSON parse error, stray '-\uFFFD'"]);
  assert.deepEqual(parse('"\\\xff'), ["JSON parse error, stray '\"\\\uFFFD'"]);
});

test('a lone 0 takes no exponent, as in QEMU 7.2', () => {
  assert.deepEqual(parse('{"execute":"query-name","id":[0e5]}'), ['JSON parse error, expected separator in list']);
  assert.deepEqual(parse('[-0E1]}'), [
    "JSON parse error, stray 'E'",
    'JSON parse error, expecting value',
    'JSON parse error, expecting value',
  ]);
  assert.equal(parse('[0.5e1]').length, 1);
});

test('strings: noncharacters are refused, raw or escaped, as QEMU refuses them', () => {
  assert.deepEqual(parse('["\xef\xbf\xbf"]'), ['JSON parse error, invalid UTF-8 sequence in string']);
  assert.deepEqual(parse('["\xef\xb7\x90"]'), ['JSON parse error, invalid UTF-8 sequence in string']);
  assert.deepEqual(parse('["\xf4\x90\x80\x80"]'), ['JSON parse error, invalid UTF-8 sequence in string']);
  assert.deepEqual(parse('["\\uffff"]'), ['JSON parse error, \\uffff is not a valid Unicode character']);
  assert.deepEqual(parse('["\\ufdd0"]'), ['JSON parse error, \\ufdd0 is not a valid Unicode character']);
  // The escape's text is shown as QEMU shows it: an invalid byte as U+FFFD.
  assert.deepEqual(parse('["\\u0\xdfry"]'), ['JSON parse error, \\u0\uFFFDry is not a valid Unicode character']);
  assert.deepEqual(parse('["\\u0000", "\xc0\x80", "\xf0\x9f\x98\x80", "\\ud83d\\ude00", "\xc3\xa9"]'), [
    ['\u0000', '\u0000', '\u{1F600}', '\u{1F600}', '\u00e9'],
  ]);
});

test('a long non-ASCII string with escapes decodes whole (built in pieces)', () => {
  const text = 'é\\n😀'.repeat(40_000);
  const [value] = parse(Buffer.from(`["${text}"]`, 'utf8'));
  assert.deepEqual(value, ['é\n😀'.repeat(40_000)]);
});

test('token size limit: exactly N bytes of tokens parse, N+1 are refused and the rest is lexed anew', () => {
  // `["` + 8 bytes + `"]`: tokens [, "xxxxxxxx" (10 bytes), ] — 12 bytes, plus QEMU's +1.
  assert.deepEqual(parse('["aaaaaaaa"]', { maxTokenBytes: 13 }), [['aaaaaaaa']]);
  const over = parse('["aaaaaaaa"]', { maxTokenBytes: 12 });
  assert.equal(over[0], 'JSON token size limit exceeded');
  // A single string past the limit is cut where QEMU cuts it; what follows is new input.
  const cut = parse(`["${'a'.repeat(20)}{'x':1}"]`, { maxTokenBytes: 10 });
  assert.equal(cut[0], 'JSON token size limit exceeded');
  assert.ok(cut.length > 1);
});

const MEMORY_SCRIPT = `
const { QemuJsonParser } = await import(process.argv[1]);
const size = Number(process.argv[2]);
const head = Buffer.from('{"execute": "query-status", "arguments": {"x": "');
const req = Buffer.concat([head, Buffer.alloc(size, 0x7f), Buffer.from('"}}\\n')]);
const p = new QemuJsonParser();
globalThis.gc();
const base = process.memoryUsage();
let peak = 0;
let values = 0;
for (let i = 0; i < req.length; i += 16384) {
  const items = p.push(req.subarray(i, i + 16384));
  values += items.filter((it) => 'value' in it).length;
  if ((i & 0x3fffff) === 0) peak = Math.max(peak, process.memoryUsage().rss - base.rss);
}
peak = Math.max(peak, process.memoryUsage().rss - base.rss);
globalThis.gc();
const after = process.memoryUsage().rss - base.rss;
process.stdout.write(JSON.stringify({ values, peak, after }));
`;

test('memory: a 40 MB string request costs less than 4x its size while parsed (child process)', () => {
  const size = 40_000_000;
  const wire = resolve(import.meta.dirname, '../../src/wire/index.js');
  const r = spawnSync(
    process.execPath,
    ['--expose-gc', '--input-type=module', '-e', MEMORY_SCRIPT, wire, String(size)],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(r.status, 0, r.stderr);
  const m = JSON.parse(r.stdout) as { values: number; peak: number; after: number };
  assert.equal(m.values, 1);
  assert.ok(m.peak < 4 * size + 32e6, `peak RSS growth ${m.peak} bytes for a ${size}-byte request`);
});
