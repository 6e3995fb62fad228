// Arguments forwarded as bytes: the same wire bytes as the text path, and the same limit checks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeRequest, type RequestLine } from '../../src/client/request-encoder.js';
import { checkRequestLimits, countRequestTokens } from '../../src/client/request-limits.js';
import { encodeQValue, encodeQValueBytes } from '../../src/wire/json-encoder.js';
import { QNum, type QValue } from '../../src/wire/q-value.js';

const big = 'b'.repeat(300_000);
const values: Array<Map<string, QValue>> = [
  new Map([['x', 'a"b']]),
  new Map([['x', 'back\\slash "quoted" \n tab\t é ☃ \u007f \ud800']]),
  new Map<string, QValue>([
    ['n', new QNum('int', 42n)],
    ['d', new QNum('double', 1)],
    ['u', new QNum('uint', 18446744073709551615n)],
    ['t', true],
    ['f', false],
    ['z', null],
    ['a', ['x', [], new Map(), [new QNum('int', -1n)]]],
    ['k"ey', new Map([['é', big]])],
  ]),
  new Map([['x', big + '"' + big]]),
];

test('encodeQValueBytes: the same bytes as encodeQValue, ASCII only', () => {
  for (const v of values) {
    const text = encodeQValue(v);
    const bytes = encodeQValueBytes(v);
    assert.ok(bytes.equals(Buffer.from(text, 'latin1')));
    assert.ok(!/[^\x20-\x7e]/.test(text));
    assert.deepEqual(JSON.parse(bytes.toString('latin1')), JSON.parse(text));
  }
});

test('encodeQValue: a quote in a string or key is escaped, never closes the token', () => {
  assert.equal(encodeQValue(new Map([['x', 'a","y":"b']])), '{"x":"a\\",\\"y\\":\\"b"}');
  assert.equal(encodeQValue(new Map([['k"', 'v']])), '{"k\\"":"v"}');
  assert.equal(encodeQValueBytes(new Map([['x', 'a","y":"b']])).toString('latin1'), '{"x":"a\\",\\"y\\":\\"b"}');
});

function joined(line: RequestLine): string {
  return typeof line === 'string'
    ? line
    : line.map((p) => (typeof p === 'string' ? p : Buffer.from(p).toString('latin1'))).join('');
}

test('encodeRequest: arguments as bytes make the same line in pieces', () => {
  for (const v of values) {
    for (const oob of [false, true]) {
      const spec = { name: 'query-status', args: undefined, oob, returnText: true };
      const asText = encodeRequest({ ...spec, argsText: encodeQValue(v) }, 7);
      const asBytes = encodeRequest({ ...spec, argsText: encodeQValueBytes(v) }, 7);
      assert.equal(typeof asText, 'string');
      assert.ok(Array.isArray(asBytes));
      assert.equal(joined(asBytes), asText);
    }
  }
});

test('checkRequestLimits: a line in pieces counts as the joined line does, at the edges and one past', () => {
  const line = (args: Map<string, QValue>): RequestLine =>
    encodeRequest({ name: 'x', args: undefined, argsText: encodeQValueBytes(args), oob: false, returnText: true }, 1);
  for (const v of values) {
    const l = line(v);
    const whole = countRequestTokens(joined(l));
    // Limits exactly at what this line needs pass; one less on any of them refuses.
    const exact = { maxTokenBytes: whole.tokenBytes + 1, maxTokens: whole.tokens, maxDepth: whole.depth };
    assert.equal(checkRequestLimits('x', l, exact), undefined);
    assert.equal(checkRequestLimits('x', l, { ...exact, maxTokenBytes: whole.tokenBytes })?.limit, 'maxTokenBytes');
    assert.equal(checkRequestLimits('x', l, { ...exact, maxTokens: whole.tokens - 1 })?.limit, 'maxTokens');
    assert.equal(checkRequestLimits('x', l, { ...exact, maxDepth: whole.depth - 1 })?.limit, 'maxDepth');
  }
});
