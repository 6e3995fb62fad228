// A tiny zero-dependency benchmark harness. Every case prints ONE JSON line:
//   {"case", "subject", "baseline", "median_ns", "p95_ns", "ops_per_s", "baseline_median_ns",
//    "baseline_ops_per_s", "ratio", "target", ...extra}
// `ratio` is baseline median / subject median: above 1 the subject is faster than its baseline.
// Baseline and subject samples alternate so drift (CPU frequency, other load) hits both alike.

/** A measured function; may be async. `ops` = operations one call performs (for per-op figures). */
export interface BenchFn {
  name: string;
  fn: () => unknown;
}

export interface BenchCaseOptions {
  name: string;
  baseline: BenchFn;
  subject: BenchFn;
  /** Operations performed by one call of `fn` (default 1). */
  opsPerCall?: number;
  /** Calls per sample (default: calibrated to ~20 ms). */
  callsPerSample?: number;
  /** Samples per side (default 15). */
  samples?: number;
  /** Warm-up calls per side (default 20). */
  warmup?: number;
  /** The target ratio, printed for the reader. */
  target?: number;
  extra?: Record<string, unknown>;
}

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
}

async function sample(fn: () => unknown, calls: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) {
    const r = fn();
    if (r instanceof Promise) await r;
  }
  return Number(process.hrtime.bigint() - t0) / calls;
}

/** Runs one case and prints its JSON line. */
export async function benchCase(o: BenchCaseOptions): Promise<void> {
  const warm = o.warmup ?? 20;
  await sample(o.baseline.fn, warm);
  await sample(o.subject.fn, warm);
  let calls = o.callsPerSample;
  if (calls === undefined) {
    const one = Math.max(await sample(o.subject.fn, 3), 1);
    calls = Math.max(1, Math.min(100_000, Math.round(20e6 / one)));
  }
  const ops = o.opsPerCall ?? 1;
  const b: number[] = [];
  const s: number[] = [];
  for (let i = 0; i < (o.samples ?? 15); i++) {
    b.push((await sample(o.baseline.fn, calls)) / ops);
    s.push((await sample(o.subject.fn, calls)) / ops);
  }
  const sm = quantile(s, 0.5);
  const bm = quantile(b, 0.5);
  reportCase({
    case: o.name,
    subject: o.subject.name,
    baseline: o.baseline.name,
    median_ns: Math.round(sm),
    p95_ns: Math.round(quantile(s, 0.95)),
    ops_per_s: Math.round(1e9 / sm),
    baseline_median_ns: Math.round(bm),
    baseline_p95_ns: Math.round(quantile(b, 0.95)),
    baseline_ops_per_s: Math.round(1e9 / bm),
    ratio: Number((bm / sm).toFixed(3)),
    ...(o.target === undefined ? {} : { target: o.target }),
    ...o.extra,
  });
}

/** Prints one result line for a case measured by its own code. */
export function reportCase(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`);
}
