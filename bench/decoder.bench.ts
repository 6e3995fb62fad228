// The client's wire decoder (JsonSplitter) against JSON.parse on the same bytes.
// Target: >= 0.8x JSON.parse (ratio >= 0.8).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { JsonSplitter } from '../src/wire/index.js';
import { benchCase } from './harness.js';

const root = resolve(import.meta.dirname, '../..');
const schema = readFileSync(resolve(root, 'data/qmp-schema-7.2.json'), 'utf8');
const big = Buffer.from(`{"return": ${schema}, "id": 1}\r\n`);
const small = Buffer.from('{"return": {"status": "running", "singlestep": false, "running": true}, "id": 1}\r\n');
const batch = Buffer.concat(Array.from({ length: 100 }, () => small));
const bigChunks: Buffer[] = [];
for (let i = 0; i < big.length; i += 4096) bigChunks.push(big.subarray(i, i + 4096));

const splitter = new JsonSplitter();

await benchCase({
  name: 'decoder: query-qmp-schema reply (207 KB, one chunk)',
  baseline: { name: 'JSON.parse', fn: () => JSON.parse(big.toString('utf8')) },
  subject: { name: 'JsonSplitter', fn: () => splitter.push(big) },
  target: 0.8,
  extra: { bytes: big.length },
});
await benchCase({
  name: 'decoder: query-qmp-schema reply (207 KB, 4 KiB chunks)',
  baseline: { name: 'JSON.parse', fn: () => JSON.parse(Buffer.concat(bigChunks).toString('utf8')) },
  subject: {
    name: 'JsonSplitter',
    fn: () => {
      for (const c of bigChunks) splitter.push(c);
    },
  },
  target: 0.8,
});
await benchCase({
  name: 'decoder: small reply',
  baseline: { name: 'JSON.parse', fn: () => JSON.parse(small.toString('utf8')) },
  subject: { name: 'JsonSplitter', fn: () => splitter.push(small) },
  target: 0.8,
  extra: { bytes: small.length },
});
await benchCase({
  name: 'decoder: 100 small replies in one chunk',
  baseline: {
    name: 'JSON.parse per line',
    fn: () => {
      for (const line of batch.toString('utf8').split('\r\n')) if (line !== '') JSON.parse(line);
    },
  },
  subject: { name: 'JsonSplitter', fn: () => splitter.push(batch) },
  opsPerCall: 100,
  target: 0.8,
});
