// Short-budget fuzzing (a few seconds per target, seeded; QMPKIT_FUZZ_SEED picks another seed): the
// client's decoder, QEMU's dialect parser, the simulated QEMU and the proxy's read-only listener.
// Zero crashes, hangs or policy bypasses. The long run: `npm run fuzz`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requireQemu } from '../helpers/qemu.js';
import { loadCorpus } from './fuzz-input.js';
import { fuzzAgainstQemu } from './fuzz-qemu.js';
import { fuzzProxy, fuzzServer } from './fuzz-sessions.js';
import { fuzzDecoder, fuzzParser } from './fuzz-wire.js';

const seed = Number(process.env['QMPKIT_FUZZ_SEED'] ?? 20_261_129);
const corpus = loadCorpus();

test('fuzz the decoder (JsonSplitter, decodeJson)', () => {
  const r = fuzzDecoder({ seed, maxInputs: 5000, maxMs: 3000 }, corpus);
  assert.ok(r.inputs >= 256, `ran ${r.inputs} inputs`);
});

test("fuzz QEMU's dialect parser", () => {
  const r = fuzzParser({ seed, maxInputs: 5000, maxMs: 3000 }, corpus);
  assert.ok(r.inputs >= 256, `ran ${r.inputs} inputs`);
});

test('fuzz the simulated QEMU over an in-memory duplex', { timeout: 120_000 }, async () => {
  const r = await fuzzServer({ seed, maxInputs: 400, maxMs: 3000 }, corpus);
  assert.ok(r.inputs >= 10, `ran ${r.inputs} inputs`);
});

test('fuzz the proxy read-only listener: no request outside the profile reaches QEMU', {
  timeout: 120_000,
}, async () => {
  const r = await fuzzProxy({ seed, maxInputs: 400, maxMs: 3000 }, corpus);
  assert.ok(r.inputs >= 10, `ran ${r.inputs} inputs`);
});

test('fuzz the simulated QEMU against QEMU 7.2: the same replies to the same bytes', {
  timeout: 180_000,
}, async (t) => {
  if (!requireQemu(t)) return;
  const r = await fuzzAgainstQemu({ seed, maxInputs: 400, maxMs: 3000 }, corpus);
  assert.ok(r.inputs >= 200, `ran ${r.inputs} inputs`);
});
