// JsonSplitter's resynchronization rule: a message cut short before a newline is reported as one
// QMP_ERR_JSON item as soon as the next message starts at the beginning of a line, and that message
// and those after it are returned, line-framed or pretty=on, however the bytes are split.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QmpClient } from '../../src/client/index.js';
import { QmpProtocolError } from '../../src/errors/index.js';
import { type JsonSplitItem, JsonSplitter } from '../../src/wire/index.js';
import { FakeQmp } from '../client/fake-qmp.js';
import { prng, randomSplit } from '../helpers/prng.js';

function kinds(items: readonly JsonSplitItem[]): string[] {
  return items.map((it) => ('error' in it ? `error:${it.error.code}` : JSON.stringify(it.value)));
}

function feed(chunks: readonly Buffer[], splitter = new JsonSplitter()): JsonSplitItem[] {
  const out: JsonSplitItem[] = [];
  for (const c of chunks) out.push(...splitter.push(c));
  return out;
}

const EVENT = '{"event": "STOP", "timestamp": {"seconds": 1, "microseconds": 2}}';
const REPLY = '{"return": {}, "id": 7}';

test('a reply cut short after a newline: one error, then the event and the reply that follow', () => {
  const bytes = Buffer.from(`{"return": {"a": \r\n${EVENT}\r\n${REPLY}\r\n`);
  const expected = ['error:QMP_ERR_JSON', JSON.stringify(JSON.parse(EVENT)), JSON.stringify(JSON.parse(REPLY))];
  assert.deepEqual(kinds(feed([bytes])), expected);
  const rnd = prng(12);
  for (let round = 0; round < 200; round++)
    assert.deepEqual(kinds(feed(randomSplit(bytes, rnd, 1 + (round % 40)))), expected);
  // Byte by byte.
  assert.deepEqual(kinds(feed([...bytes].map((b) => Buffer.from([b])))), expected);
  const err = feed([bytes])[0] as { error: QmpProtocolError };
  assert.ok(err.error instanceof QmpProtocolError);
  assert.match(err.error.message, /cut short/);
});

test('the same after a good line-framed message first, and with the cut inside a nested array', () => {
  const bytes = Buffer.from(`${REPLY}\n{"return": [1, {"b": [2,\n${EVENT}\n`);
  assert.deepEqual(kinds(feed([bytes])), [
    JSON.stringify(JSON.parse(REPLY)),
    'error:QMP_ERR_JSON',
    JSON.stringify(JSON.parse(EVENT)),
  ]);
});

test('pretty=on messages (nested lines indented) are never cut; a pretty message cut short is', () => {
  const pretty =
    '{\n    "return": {\n        "a": [\n            {\n                "b": 1\n            }\n        ]\n    }\n}\n';
  const value = JSON.stringify({ return: { a: [{ b: 1 }] } });
  assert.deepEqual(kinds(feed([Buffer.from(pretty + pretty)])), [value, value]);
  const cut = `${pretty.slice(0, pretty.indexOf('            {'))}${pretty}`;
  assert.deepEqual(kinds(feed([Buffer.from(cut)])), ['error:QMP_ERR_JSON', value]);
  const rnd = prng(5);
  for (let round = 0; round < 100; round++)
    assert.deepEqual(kinds(feed(randomSplit(Buffer.from(cut + pretty), rnd, 1 + (round % 40)))), [
      'error:QMP_ERR_JSON',
      value,
      value,
    ]);
});

test('nothing is held for the cut-short message once it is reported', () => {
  const s = new JsonSplitter();
  s.push(Buffer.from('{"return": {"a": "x",\n'));
  assert.ok(s.bufferedBytes > 0);
  assert.deepEqual(kinds(s.push(Buffer.from(`${EVENT}\n`))), ['error:QMP_ERR_JSON', JSON.stringify(JSON.parse(EVENT))]);
  assert.equal(s.bufferedBytes, 0);
});

test('a cut-short message past maxMessageBytes: one limit error only, then the next message', () => {
  const s = new JsonSplitter({ maxMessageBytes: 100 });
  const items = feed([Buffer.from(`{"return": {"a": [${'1,'.repeat(100)}\n`), Buffer.from(`${EVENT}\n`)], s);
  assert.deepEqual(kinds(items), ['error:QMP_ERR_LIMIT', JSON.stringify(JSON.parse(EVENT))]);
});

test('the client: a reply cut short fails the call with QMP_ERR_JSON when the next message comes, not at 10 MiB', async () => {
  const fake = new FakeQmp();
  const qmp = await QmpClient.connect(fake.client, { timeoutMs: 5000 });
  fake.onRequest = () => {
    fake.sendRaw('{"return": {"a": \r\n');
    fake.event('STOP');
  };
  await assert.rejects(qmp.execute('query-status'), (err: unknown) => {
    assert.ok(err instanceof QmpProtocolError);
    assert.equal(err.code, 'QMP_ERR_JSON');
    return true;
  });
  assert.equal(qmp.state, 'closed');
  fake.drop();
});
