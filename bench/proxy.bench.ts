// The proxy in front of real QEMU 7.2: query-status round trip through the proxy vs direct (target
// <= 10% overhead, i.e. ratio >= 0.9), one client pipelining, throughput with 1, 4 and 16 clients,
// event fan-out to 16, and `qmpkit proxy` as a process of its own next to a plain byte relay.
//
// QEMU serves one client at a time, so "direct" and "through the proxy" use two identical QEMUs and
// their rounds alternate: drift on a busy machine then hits both sides alike.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QmpProxy } from '../src/proxy/index.js';
import { reportCase } from './harness.js';
import { median, p95, RawBenchClient, startQemu, throughput, waitSocket } from './sim-proxy-common.js';

const OPS = 2000;
/** A byte relay: argv[1] is the upstream socket, argv[2] the socket to listen on. */
const RELAY = `const net = require('node:net');
net.createServer((s) => {
  const u = net.connect(process.argv[1]);
  s.pipe(u); u.pipe(s);
  s.on('error', () => u.destroy()); u.on('error', () => s.destroy());
}).listen(process.argv[2]);`;
const ROUNDS = 7;

/** Warms both up, then times ROUNDS rounds of OPS query-status on each, alternating; ns per call. */
async function alternate(a: RawBenchClient, b: RawBenchClient, inFlight: number): Promise<[number[], number[]]> {
  for (const c of [a, b]) await throughput(() => c.run('query-status'), 1000, inFlight);
  const ra: number[] = [];
  const rb: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    ra.push(await throughput(() => a.run('query-status'), OPS, inFlight));
    rb.push(await throughput(() => b.run('query-status'), OPS, inFlight));
  }
  return [ra, rb];
}

function ratio(baseline: number[], subject: number[]): number {
  return Number((median(baseline) / median(subject)).toFixed(3));
}

const dir = mkdtempSync(join(tmpdir(), 'qmpkit-bench-proxy-'));
const directSock = join(dir, 'direct.sock');
const behindSock = join(dir, 'behind.sock');
const psock = join(dir, 'proxy.sock');
const qemus = [startQemu(directSock), startQemu(behindSock)];
let proxy: QmpProxy | undefined;
let child: ChildProcess | undefined;
try {
  await waitSocket(directSock);
  await waitSocket(behindSock);
  proxy = await QmpProxy.start({ upstream: behindSock, listen: [psock] });
  const direct = await RawBenchClient.open(directSock);
  const via = await RawBenchClient.open(psock);
  const [d, p] = await alternate(direct, via, 1);
  reportCase({
    case: 'proxy: query-status round trip, through the proxy vs direct',
    subject: 'via qmpkit proxy (QmpProxy in this process)',
    baseline: 'direct to QEMU',
    median_ns: Math.round(median(p)),
    p95_ns: Math.round(p95(p)),
    ops_per_s: Math.round(1e9 / median(p)),
    baseline_median_ns: Math.round(median(d)),
    baseline_ops_per_s: Math.round(1e9 / median(d)),
    ratio: ratio(d, p),
    target: 0.9,
  });
  const [d8, p8] = await alternate(direct, via, 8);
  reportCase({
    case: 'proxy: one client pipelining 8 query-status, through the proxy vs direct',
    subject: 'via qmpkit proxy',
    baseline: 'direct to QEMU',
    ops_per_s: Math.round(1e9 / median(p8)),
    baseline_ops_per_s: Math.round(1e9 / median(d8)),
    ratio: ratio(d8, p8),
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
  const t0 = process.hrtime.bigint();
  let k = 0;
  await throughput(() => via.run(k++ % 2 === 0 ? 'stop' : 'cont'), 2000, 8);
  const deadline = Date.now() + 5000;
  while (received < 2000 * 16 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  reportCase({
    case: 'proxy: event fan-out to 16 clients',
    subject: 'via qmpkit proxy',
    events_emitted: 2000,
    events_delivered: received,
    deliveries_per_s: Math.round(received / secs),
  });
  for (const c of clients) c.close();
  await proxy.close();
  proxy = undefined;

  // `qmpkit proxy` as its own process, as the CLI runs it; for scale, the same client through a plain
  // byte relay (no QMP at all), also a node process of its own: about the least such a hop costs.
  const cliSock = join(dir, 'cli.sock');
  await waitSocket(behindSock);
  child = spawn(
    process.execPath,
    [
      fileURLToPath(new URL('../src/bin/qmpkit.cjs', import.meta.url)),
      'proxy',
      '--upstream',
      behindSock,
      '--listen',
      cliSock,
    ],
    { stdio: 'ignore' },
  );
  await waitSocket(cliSock);
  const viaCli = await RawBenchClient.open(cliSock);
  const [d2, c] = await alternate(direct, viaCli, 1);
  viaCli.close();
  child.kill('SIGKILL');
  const relaySock = join(dir, 'relay.sock');
  await waitSocket(behindSock);
  child = spawn(process.execPath, ['-e', RELAY, behindSock, relaySock], { stdio: 'ignore' });
  await waitSocket(relaySock);
  const viaRelay = await RawBenchClient.open(relaySock);
  const [d3, r] = await alternate(direct, viaRelay, 1);
  viaRelay.close();
  child.kill('SIGKILL');
  reportCase({
    case: 'proxy: query-status round trip, qmpkit proxy as its own process vs direct',
    subject: 'via `qmpkit proxy` (a child process)',
    baseline: 'direct to QEMU',
    median_ns: Math.round(median(c)),
    ops_per_s: Math.round(1e9 / median(c)),
    baseline_ops_per_s: Math.round(1e9 / median(d2)),
    ratio: ratio(d2, c),
    byte_relay_ops_per_s: Math.round(1e9 / median(r)),
    byte_relay_ratio: ratio(d3, r),
  });
  direct.close();
} finally {
  await proxy?.close();
  child?.kill('SIGKILL');
  for (const q of qemus) q.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
