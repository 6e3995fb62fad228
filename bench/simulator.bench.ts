// The simulator against real QEMU 7.2 serving the same raw client: sequential and pipelined
// query-status, and events per second delivered. Target: simulator >= 3x QEMU.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator } from '../src/simulator/index.js';
import { reportCase } from './harness.js';
import { median, p95, RawBenchClient, startQemu, throughput, waitSocket } from './sim-proxy-common.js';

const dir = mkdtempSync(join(tmpdir(), 'qmpkit-bench-sim-'));
const qsock = join(dir, 'qemu.sock');
const ssock = join(dir, 'sim.sock');
const qemu = startQemu(qsock);
const sim = await startSimulator({ argv: ['-machine', 'none', '-qmp', `unix:${ssock},server=on,wait=off`] });
try {
  await waitSocket(qsock);
  const q = await RawBenchClient.open(qsock);
  const s = await RawBenchClient.open(ssock);
  const OPS = 2000;
  for (const [name, depth] of [
    ['sequential', 1],
    ['pipelined 8 in flight', 8],
  ] as const) {
    const qs: number[] = [];
    const ss: number[] = [];
    for (let i = 0; i < 5; i++) {
      qs.push(await throughput(() => q.run('query-status'), OPS, depth));
      ss.push(await throughput(() => s.run('query-status'), OPS, depth));
    }
    reportCase({
      case: `simulator: query-status ${name}`,
      subject: 'qmpkit sim',
      baseline: 'QEMU 7.2',
      median_ns: Math.round(median(ss)),
      p95_ns: Math.round(p95(ss)),
      ops_per_s: Math.round(1e9 / median(ss)),
      baseline_median_ns: Math.round(median(qs)),
      baseline_ops_per_s: Math.round(1e9 / median(qs)),
      ratio: Number((median(qs) / median(ss)).toFixed(2)),
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
