// Bounded, seeded fuzzing: random and mutated input in random chunks must never crash or hang the
// server, memory stays bounded, and the session still answers query-status after every case.
// A longer run: bench/server-fuzz.bench.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runFuzz } from './fuzz-driver.js';

test('fuzz: random and mutated requests (seeded, at most 300 cases or 6 s)', async () => {
  const seed = Number(process.env['QMPKIT_FUZZ_SEED'] ?? 20_261_125);
  const r = await runFuzz({ seed, maxCases: 300, maxMs: 6000 });
  assert.ok(r.cases >= 20, `ran ${r.cases} cases`);
  assert.ok(r.linesReceived > r.cases, 'every case was answered');
  assert.ok(r.heapGrowthBytes < 256 * 1024 * 1024, `heap grew ${r.heapGrowthBytes} bytes`);
});
