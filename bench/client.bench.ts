// The client against a raw-socket client on the same real QEMU 7.2 (-machine none, one monitor
// each): sequential query-status round trips, and pipelined throughput with 8 and 64 commands in
// flight, in alternating rounds after a warm-up; `paired_ratio` is the median of per-round ratios.
// Target: client >= 0.95x the raw client.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QmpClient } from '../src/client/index.js';
import { benchCase, reportCase } from './harness.js';
import { waitSocket } from './sim-proxy-common.js';

const dir = mkdtempSync(join(tmpdir(), 'qmpkit-bench-'));
const sock = join(dir, 'qmp.sock');
// A second monitor of the same QEMU for the raw client: the two are measured in alternating rounds
// (a monitor serves one client at a time), so drift on a busy machine hits both alike.
const rawSock = join(dir, 'raw.sock');
const qemu = spawn(
  'qemu-system-x86_64',
  [
    '-machine',
    'none',
    '-nodefaults',
    '-display',
    'none',
    '-qmp',
    `unix:${sock},server=on,wait=off`,
    '-qmp',
    `unix:${rawSock},server=on,wait=off`,
  ],
  { stdio: 'ignore' },
);

/** The simplest fast raw client: write a line, split replies on CRLF, JSON.parse, match by id. */
class RawClient {
  readonly #s: Socket;
  #buf = '';
  #id = 0;
  readonly #waiting = new Map<number, () => void>();
  constructor(s: Socket) {
    this.#s = s;
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      this.#buf += d;
      let nl = this.#buf.indexOf('\n');
      while (nl !== -1) {
        const line = this.#buf.slice(0, nl);
        this.#buf = this.#buf.slice(nl + 1);
        const msg = JSON.parse(line) as { id?: number };
        if (msg.id !== undefined) {
          const w = this.#waiting.get(msg.id);
          this.#waiting.delete(msg.id);
          w?.();
        }
        nl = this.#buf.indexOf('\n');
      }
    });
  }
  static async open(): Promise<RawClient> {
    const s = connect(rawSock);
    await new Promise<void>((r) => s.once('connect', () => r()));
    const c = new RawClient(s);
    await new Promise<void>((r) => {
      c.#s.once('data', () => r());
    });
    // Same negotiation as QmpClient (oob on), so QEMU queues up to 8 requests for both.
    await c.run('qmp_capabilities', '{"enable":["oob"]}');
    return c;
  }
  run(cmd: string, args?: string): Promise<void> {
    const id = ++this.#id;
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve);
      this.#s.write(
        args ? `{"execute":"${cmd}","arguments":${args},"id":${id}}\n` : `{"execute":"${cmd}","id":${id}}\n`,
      );
    });
  }
  close(): void {
    this.#s.destroy();
  }
}

async function pipelined(run: () => Promise<unknown>, total: number, inFlight: number): Promise<void> {
  let started = 0;
  const lane = async (): Promise<void> => {
    while (started < total) {
      started++;
      await run();
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
}

try {
  await waitSocket(sock);
  await waitSocket(rawSock);
  const raw = await RawClient.open();
  const qmp = await QmpClient.connect(sock, { timeoutMs: 10000 });
  const OPS = 2000;
  const timeIt = async (fn: () => Promise<void>): Promise<number> => {
    const t0 = process.hrtime.bigint();
    await fn();
    return Number(process.hrtime.bigint() - t0) / OPS;
  };
  const results: Record<string, { raw: number[]; client: number[] }> = {};
  const shapes: Array<[string, number]> = [
    ['sequential', 1],
    ['pipelined 8 in flight', 8],
    ['pipelined 64 in flight', 64],
  ];
  for (const [name] of shapes) results[name] = { raw: [], client: [] };
  const sides = {
    raw: () => raw.run('query-status'),
    client: () => qmp.execute('query-status'),
  };
  for (const [, depth] of shapes) {
    for (const run of Object.values(sides)) await pipelined(run, OPS / 2, depth);
  }
  const SAMPLES = 7;
  for (let s = 0; s < SAMPLES; s++) {
    for (const [name, depth] of shapes) {
      // Which side goes first alternates from one round to the next.
      const order = s % 2 === 0 ? (['raw', 'client'] as const) : (['client', 'raw'] as const);
      for (const side of order) results[name]?.[side].push(await timeIt(() => pipelined(sides[side], OPS, depth)));
    }
  }
  raw.close();
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
  const p95 = (xs: number[]): number =>
    [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))] ?? Number.NaN;
  for (const [name] of shapes) {
    const r = results[name];
    if (!r) continue;
    const cm = median(r.client);
    const rm = median(r.raw);
    reportCase({
      case: `client: query-status ${name} (real QEMU 7.2)`,
      subject: 'QmpClient',
      baseline: 'raw socket client',
      median_ns: Math.round(cm),
      p95_ns: Math.round(p95(r.client)),
      ops_per_s: Math.round(1e9 / cm),
      baseline_median_ns: Math.round(rm),
      baseline_ops_per_s: Math.round(1e9 / rm),
      ratio: Number((rm / cm).toFixed(3)),
      paired_ratio: Number(median(r.client.map((c, i) => (r.raw[i] ?? Number.NaN) / c)).toFixed(3)),
      target: 0.95,
    });
  }
  // The cost of schema: 'fetch' at connect: connect with it vs without.
  await qmp.close();
  await benchCase({
    name: "client: connect with schema: 'fetch' (reads and models query-qmp-schema)",
    baseline: {
      name: 'connect',
      fn: async () => {
        const c = await QmpClient.connect(sock, { timeoutMs: 10000 });
        await c.close();
      },
    },
    subject: {
      name: "connect { schema: 'fetch' }",
      fn: async () => {
        const c = await QmpClient.connect(sock, { timeoutMs: 10000, schema: 'fetch' });
        await c.close();
      },
    },
    callsPerSample: 3,
    samples: 5,
    warmup: 2,
  });
} finally {
  qemu.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
