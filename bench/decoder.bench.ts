// The client's wire decoder (JsonSplitter.push on bytes) against JSON.parse(buffer.toString()) on the
// same bytes. Target: ratio >= 0.8 (the splitter at least 0.8x as fast as JSON.parse).
// The encoder line is for information: encodeMessage against JSON.stringify plus a newline.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { encodeMessage, JsonSplitter } from '../src/wire/index.js';
import { benchCase } from './harness.js';

const root = resolve(import.meta.dirname, '../..');
const schema = readFileSync(resolve(root, 'data/qmp-schema-7.2.json'), 'utf8');
const big = Buffer.from(`{"return": ${schema}}\r\n`);
const small = Buffer.from('{"return": {"status": "running", "singlestep": false, "running": true}, "id": 1}\r\n');
const batch = Buffer.concat(Array.from({ length: 100 }, () => small));
const bigChunks: Buffer[] = [];
for (let i = 0; i < big.length; i += 4096) bigChunks.push(big.subarray(i, i + 4096));

const splitter = new JsonSplitter();

function pushAll(chunks: readonly Buffer[]): number {
  let n = 0;
  for (const c of chunks) n += splitter.push(c).length;
  return n;
}

// A fast wrong answer is no result: check each subject first.
assert.deepEqual(splitter.push(big), [
  { value: JSON.parse(big.toString()), bytes: big.length - 2, text: big.toString().trimEnd() },
]);
assert.equal(pushAll(bigChunks), 1);
assert.deepEqual(splitter.push(small), [
  { value: JSON.parse(small.toString()), bytes: small.length - 2, text: small.toString().trimEnd() },
]);
assert.equal(splitter.push(batch).length, 100);
assert.equal(splitter.bufferedBytes, 0);

await benchCase({
  name: 'decoder: query-qmp-schema reply (207 KB, one chunk)',
  baseline: { name: 'JSON.parse(buf.toString())', fn: () => JSON.parse(big.toString('utf8')) },
  subject: { name: 'JsonSplitter.push', fn: () => splitter.push(big) },
  target: 0.8,
  extra: { bytes: big.length },
});
await benchCase({
  name: 'decoder: query-qmp-schema reply (207 KB, 4 KiB chunks)',
  baseline: {
    name: 'JSON.parse(Buffer.concat(chunks).toString())',
    fn: () => JSON.parse(Buffer.concat(bigChunks).toString('utf8')),
  },
  subject: { name: 'JsonSplitter.push per chunk', fn: () => pushAll(bigChunks) },
  target: 0.8,
  extra: { bytes: big.length, chunks: bigChunks.length },
});
await benchCase({
  name: 'decoder: small reply',
  baseline: { name: 'JSON.parse(buf.toString())', fn: () => JSON.parse(small.toString('utf8')) },
  subject: { name: 'JsonSplitter.push', fn: () => splitter.push(small) },
  target: 0.8,
  extra: { bytes: small.length },
});
await benchCase({
  name: 'decoder: 100 small replies in one chunk',
  baseline: {
    name: 'JSON.parse per line of buf.toString()',
    fn: () => {
      for (const line of batch.toString('utf8').split('\r\n')) if (line !== '') JSON.parse(line);
    },
  },
  subject: { name: 'JsonSplitter.push', fn: () => splitter.push(batch) },
  opsPerCall: 100,
  target: 0.8,
  extra: { bytes: batch.length },
});

const command = {
  execute: 'blockdev-add',
  arguments: { driver: 'qcow2', 'node-name': 'disk0', file: { driver: 'file', filename: '/tmp/disk0.qcow2' } },
  id: 42,
};
await benchCase({
  name: 'encoder: small command',
  baseline: { name: 'JSON.stringify + newline', fn: () => `${JSON.stringify(command)}\n` },
  subject: { name: 'encodeMessage', fn: () => encodeMessage(command) },
});
