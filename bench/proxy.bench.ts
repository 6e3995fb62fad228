// The proxy in front of real QEMU 7.2: query-status round trip through the proxy vs direct (target
// <= 10% overhead, i.e. ratio >= 0.9), throughput with 1, 4 and 16 clients, and event fan-out to 16.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QmpProxy } from '../src/proxy/index.js';
import { reportCase } from './harness.js';
import { median, p95, RawBenchClient, startQemu, throughput, waitSocket } from './sim-proxy-common.js';

const dir = mkdtempSync(join(tmpdir(), 'qmpkit-bench-proxy-'));
const qsock = join(dir, 'qemu.sock');
const psock = join(dir, 'proxy.sock');
const qemu = startQemu(qsock);
let proxy: QmpProxy | undefined;
try {
  await waitSocket(qsock);
  // Direct first (QEMU serves one client at a time), then through the proxy.
  const direct = await RawBenchClient.open(qsock);
  const OPS = 2000;
  const d: number[] = [];
  for (let i = 0; i < 5; i++) d.push(await throughput(() => direct.run('query-status'), OPS, 1));
  const d8: number[] = [];
  for (let i = 0; i < 5; i++) d8.push(await throughput(() => direct.run('query-status'), OPS, 8));
  direct.close();
  proxy = await QmpProxy.start({ upstream: qsock, listen: [psock] });
  const via = await RawBenchClient.open(psock);
  const p: number[] = [];
  for (let i = 0; i < 5; i++) p.push(await throughput(() => via.run('query-status'), OPS, 1));
  reportCase({
    case: 'proxy: query-status round trip, through the proxy vs direct',
    subject: 'via qmpkit proxy',
    baseline: 'direct to QEMU',
    median_ns: Math.round(median(p)),
    p95_ns: Math.round(p95(p)),
    ops_per_s: Math.round(1e9 / median(p)),
    baseline_median_ns: Math.round(median(d)),
    baseline_ops_per_s: Math.round(1e9 / median(d)),
    ratio: Number((median(d) / median(p)).toFixed(3)),
    target: 0.9,
  });
  const p8: number[] = [];
  for (let i = 0; i < 5; i++) p8.push(await throughput(() => via.run('query-status'), OPS, 8));
  reportCase({
    case: 'proxy: one client pipelining 8 query-status, through the proxy vs direct',
    subject: 'via qmpkit proxy',
    baseline: 'direct to QEMU',
    ops_per_s: Math.round(1e9 / median(p8)),
    baseline_ops_per_s: Math.round(1e9 / median(d8)),
    ratio: Number((median(d8) / median(p8)).toFixed(3)),
  });
  const clients = [via];
  for (const n of [1, 4, 16]) {
    while (clients.length < n) clients.push(await RawBenchClient.open(psock));
    const per = 1000;
    const t0 = process.hrtime.bigint();
    await Promise.all(clients.slice(0, n).map((c) => throughput(() => c.run('query-status'), per, 1)));
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    reportCase({
      case: `proxy: throughput with ${n} client(s), each sequential`,
      subject: 'via qmpkit proxy',
      baseline: 'direct, one client',
      ops_per_s: Math.round((n * per) / s),
      baseline_ops_per_s: Math.round(1e9 / median(d)),
      ratio: Number(((n * per) / s / (1e9 / median(d))).toFixed(3)),
    });
  }
  // Fan-out: one client causes events; all 16 receive them.
  let received = 0;
  for (const c of clients) c.onEvent = () => received++;
  const before = received;
  const t0 = process.hrtime.bigint();
  let k = 0;
  await throughput(() => via.run(k++ % 2 === 0 ? 'stop' : 'cont'), 2000, 8);
  const deadline = Date.now() + 5000;
  while (received - before < 2000 * 16 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  reportCase({
    case: 'proxy: event fan-out to 16 clients',
    subject: 'via qmpkit proxy',
    events_emitted: 2000,
    events_delivered: received - before,
    deliveries_per_s: Math.round((received - before) / secs),
  });
  for (const c of clients) c.close();
} finally {
  await proxy?.close();
  qemu.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
