// A tiny zero-dependency benchmark harness, shared by every bench/*.bench.ts.
//
//   await benchCase({ name, baseline: { name, fn }, subject: { name, fn }, target: 0.8 });
//
// measures `subject` against `baseline` in the same process and prints ONE JSON line:
//   {"case", "subject", "baseline", "median_ns", "p95_ns", "ops_per_s", "baseline_median_ns",
//    "baseline_p95_ns", "baseline_ops_per_s", "ratio", "target", "meets_target", ...extra}
// Times are per operation. `ratio` is baseline median / subject median: above 1 the subject is faster.
// Samples alternate between the two sides (and which side goes first), so drift from CPU frequency or
// other load on the machine hits both alike; medians keep one slow sample from deciding anything.
// `fn` may return a promise; it is awaited inside the timed loop.
//
// Cases measured by their own code (a throughput over a socket, a whole run) print their line with
// `reportCase({ case: ..., ... })`, which also writes bigints as strings.
//
// Run everything with `npm run bench` (builds, then scripts/run-bench.mjs starts a fresh node per
// file), or a subset: `node scripts/run-bench.mjs decoder`.

/** One side of a comparison. */
export interface BenchFn {
  name: string;
  fn: () => unknown;
}

/** Options of {@link benchCase}. */
export interface BenchCaseOptions {
  /** Printed as `case`. */
  name: string;
  baseline: BenchFn;
  subject: BenchFn;
  /** Calls of `fn` per sample (default: calibrated so a sample of the subject takes about 20 ms). */
  opsPerSample?: number;
  /** Same as `opsPerSample` (older name). */
  callsPerSample?: number;
  /** Operations one call of `fn` performs, e.g. 100 for a batch of 100 messages (default 1). */
  opsPerCall?: number;
  /** Samples per side (default 15). */
  samples?: number;
  /** Calls per side before measuring (default 20). */
  warmup?: number;
  /** The ratio the subject should reach; printed with `meets_target`. */
  target?: number;
  /** More fields for the printed line. */
  extra?: Record<string, unknown>;
}

const SAMPLE_NS = 20e6;

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
}

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return typeof x === 'object' && x !== null && typeof (x as { then?: unknown }).then === 'function';
}

/** Nanoseconds per call of `fn` over `calls` calls. */
async function sample(fn: () => unknown, calls: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) {
    const r = fn();
    if (isThenable(r)) await r;
  }
  return Number(process.hrtime.bigint() - t0) / calls;
}

/** Runs one case and prints its JSON line. */
export async function benchCase(o: BenchCaseOptions): Promise<void> {
  const warm = o.warmup ?? 20;
  await sample(o.baseline.fn, warm);
  await sample(o.subject.fn, warm);
  let calls = o.opsPerSample ?? o.callsPerSample;
  if (calls === undefined) {
    const one = Math.max(await sample(o.subject.fn, 3), 1);
    calls = Math.max(1, Math.min(1_000_000, Math.round(SAMPLE_NS / one)));
  }
  const ops = o.opsPerCall ?? 1;
  const b: number[] = [];
  const s: number[] = [];
  const n = o.samples ?? 15;
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) {
      b.push((await sample(o.baseline.fn, calls)) / ops);
      s.push((await sample(o.subject.fn, calls)) / ops);
    } else {
      s.push((await sample(o.subject.fn, calls)) / ops);
      b.push((await sample(o.baseline.fn, calls)) / ops);
    }
  }
  const sm = quantile(s, 0.5);
  const bm = quantile(b, 0.5);
  const ratio = Number((bm / sm).toFixed(3));
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
    ratio,
    ...(o.target === undefined ? {} : { target: o.target, meets_target: ratio >= o.target }),
    samples: n,
    calls_per_sample: calls,
    ...o.extra,
  });
}

/** Prints one result line for a case measured by its own code. */
export function reportCase(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`);
}
