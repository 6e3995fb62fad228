// Longer fuzz run of the server framework (the test suite runs a short one). Prints one JSON line:
// cases, per-case median/p95 in ms, and the ratio to a clean probe round trip measured in the same
// run. Usage: node dist/bench/server-fuzz.bench.js [maxCases=20000] [maxMs=60000] [seed]
import { runFuzz } from '../test/server/fuzz-driver.js';

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

const [maxCases = 20_000, maxMs = 60_000, seed = Date.now() % 1_000_000] = process.argv.slice(2).map(Number);
// Baseline: the same loop with no fuzz input, i.e. the recovery byte and the probe round trip alone.
const baseline = await runFuzz({ seed: 1, maxCases: 500, maxMs: 5_000, clean: true });
const r = await runFuzz({ seed, maxCases, maxMs });
const sorted = [...r.caseMs].sort((a, b) => a - b);
const base = [...baseline.caseMs].sort((a, b) => a - b);
console.log(
  JSON.stringify({
    name: 'server-fuzz',
    seed,
    cases: r.cases,
    bytesSent: r.bytesSent,
    linesReceived: r.linesReceived,
    reconnects: r.reconnects,
    medianMs: quantile(sorted, 0.5),
    p95Ms: quantile(sorted, 0.95),
    baselineMedianMs: quantile(base, 0.5),
    ratio: quantile(sorted, 0.5) / quantile(base, 0.5),
    heapGrowthBytes: r.heapGrowthBytes,
    totalMs: r.ms,
  }),
);
