// The simulator against real QEMU 7.2 serving the same raw client: sequential and pipelined
// query-status, and events per second delivered. Target: simulator >= 3x QEMU. `ratio` is QEMU's
// median time per call over the simulator's; `paired_ratio` the median of the per-round ratios
// (each round of one side next to one of the other), less moved by a busy machine's drift.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator } from '../src/simulator/index.js';
import { reportCase } from './harness.js';
import { median, p95, RawBenchClient, startQemu, throughput, waitSocket } from './sim-proxy-common.js';

/** Operations per QEMU round (a few hundred ms); the simulator's rounds are scaled to last as long. */
const BASELINE_OPS = 2000;
const ROUNDS = 9;

/**
 * Warms both sides up (the simulator's request path is JIT-compiled over its first thousands of
 * calls), then times ROUNDS rounds of each, alternating which goes first. The simulator gets as many
 * more operations per round as it is faster in the warm-up, so a round of either side lasts about as
 * long and a pause of the machine weighs on both alike. Returns ns per call of each round, and the
 * ratio of each round pair (baseline / subject).
 */
async function alternate(
  baseline: (ops: number) => Promise<number>,
  subject: (ops: number) => Promise<number>,
): Promise<{ baseline: number[]; subject: number[]; ratios: number[]; ops: { baseline: number; subject: number } }> {
  await baseline(BASELINE_OPS / 2);
  for (let i = 0; i < 3; i++) await subject(BASELINE_OPS);
  const speedup = (await baseline(BASELINE_OPS / 2)) / (await subject(BASELINE_OPS));
  const subjectOps = Math.round(BASELINE_OPS * Math.min(Math.max(speedup, 1), 20));
  const b: number[] = [];
  const sub: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    let nb: number;
    let ns: number;
    if (i % 2 === 0) {
      nb = await baseline(BASELINE_OPS);
      ns = await subject(subjectOps);
    } else {
      ns = await subject(subjectOps);
      nb = await baseline(BASELINE_OPS);
    }
    b.push(nb);
    sub.push(ns);
    ratios.push(nb / ns);
  }
  return { baseline: b, subject: sub, ratios, ops: { baseline: BASELINE_OPS, subject: subjectOps } };
}

const dir = mkdtempSync(join(tmpdir(), 'qmpkit-bench-sim-'));
const qsock = join(dir, 'qemu.sock');
const ssock = join(dir, 'sim.sock');
const qemu = startQemu(qsock);
const sim = await startSimulator({ argv: ['-machine', 'none', '-qmp', `unix:${ssock},server=on,wait=off`] });
try {
  await waitSocket(qsock);
  const q = await RawBenchClient.open(qsock);
  const s = await RawBenchClient.open(ssock);
  for (const [name, depth] of [
    ['sequential', 1],
    ['pipelined 8 in flight', 8],
  ] as const) {
    const run = (c: RawBenchClient) => (ops: number) => throughput(() => c.run('query-status'), ops, depth);
    const r = await alternate(run(q), run(s));
    reportCase({
      case: `simulator: query-status ${name}`,
      subject: 'qmpkit sim',
      baseline: 'QEMU 7.2',
      median_ns: Math.round(median(r.subject)),
      p95_ns: Math.round(p95(r.subject)),
      ops_per_s: Math.round(1e9 / median(r.subject)),
      baseline_median_ns: Math.round(median(r.baseline)),
      baseline_ops_per_s: Math.round(1e9 / median(r.baseline)),
      ratio: Number((median(r.baseline) / median(r.subject)).toFixed(2)),
      paired_ratio: Number(median(r.ratios).toFixed(2)),
      rounds: ROUNDS,
      ops_per_round: r.ops,
      target: 3,
    });
  }
  // Events delivered per second: each stop/cont pair emits STOP and RESUME.
  const evRate = async (c: RawBenchClient): Promise<number> => {
    const before = c.events;
    const t0 = process.hrtime.bigint();
    let n = 0;
    await throughput(() => c.run(n++ % 2 === 0 ? 'stop' : 'cont'), 4000, 8);
    return ((c.events - before) * 1e9) / Number(process.hrtime.bigint() - t0);
  };
  // A warm-up run each (the simulator's stop/cont path is JIT-compiled during the first thousands),
  // then the median of three runs, alternating.
  await evRate(q);
  await evRate(s);
  const qr: number[] = [];
  const sr: number[] = [];
  for (let i = 0; i < 3; i++) {
    qr.push(await evRate(q));
    sr.push(await evRate(s));
  }
  const qe = median(qr);
  const se = median(sr);
  reportCase({
    case: 'simulator: events delivered per second (stop/cont)',
    subject: 'qmpkit sim',
    baseline: 'QEMU 7.2',
    events_per_s: Math.round(se),
    baseline_events_per_s: Math.round(qe),
    ratio: Number((se / qe).toFixed(2)),
    target: 3,
  });
  q.close();
  s.close();
} finally {
  qemu.kill('SIGKILL');
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
}
