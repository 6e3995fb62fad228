// Bundled QEMU releases: what `schema: 'auto'` costs at connect (real QEMU 7.2, -machine none; target:
// no more than 1.2x a plain connect, i.e. ratio >= 0.833), and how long one release's validator takes
// to load and answer its first check (target: under 20 ms), against JSON.parse of the same data.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { QmpClient } from '../src/client/index.js';
import { loadReleaseSchema } from '../src/schema/index.js';
import { benchCase, reportCase } from './harness.js';
import { waitSocket } from './sim-proxy-common.js';

const root = resolve(import.meta.dirname, '../..');
const text = readFileSync(resolve(root, 'data/qemu/10.0/qmp-schema.json'), 'utf8');
const SAMPLES = 15;
const parse: number[] = [];
const load: number[] = [];
const time = (fn: () => unknown): number => {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0);
};
const loadOne = (): void => {
  const schema = loadReleaseSchema('10.0');
  if (schema.validateArguments('blockdev-add', { driver: 'null-co', 'node-name': 'n0' }) !== undefined)
    throw new Error('bench input must be valid');
};
loadOne();
for (let i = 0; i < SAMPLES; i++) {
  if (i % 2 === 0) {
    parse.push(time(() => JSON.parse(text)));
    load.push(time(loadOne));
  } else {
    load.push(time(loadOne));
    parse.push(time(() => JSON.parse(text)));
  }
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const p95 = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))] ?? Number.NaN;
reportCase({
  case: "schema: load QEMU 10.0's bundled validator (read, parse, model, 7.2 hints) and check one call",
  subject: "loadReleaseSchema('10.0') + validateArguments",
  baseline: 'JSON.parse of the same schema file',
  median_ns: Math.round(median(load)),
  p95_ns: Math.round(p95(load)),
  baseline_median_ns: Math.round(median(parse)),
  ratio: Number((median(parse) / median(load)).toFixed(3)),
  target_ms: 20,
  meets_target: median(load) < 20e6,
  samples: SAMPLES,
});

const dir = mkdtempSync(join(tmpdir(), 'qmpkit-bench-'));
const sock = join(dir, 'qmp.sock');
const qemu = spawn(
  'qemu-system-x86_64',
  ['-machine', 'none', '-nodefaults', '-display', 'none', '-qmp', `unix:${sock},server=on,wait=off`],
  { stdio: 'ignore' },
);
try {
  await waitSocket(sock);
  await benchCase({
    name: "client: connect with schema: 'auto' (bundled 7.2 schema, no query-qmp-schema round trip)",
    baseline: {
      name: 'connect',
      fn: async () => {
        const c = await QmpClient.connect(sock, { timeoutMs: 10000 });
        await c.close();
      },
    },
    subject: {
      name: "connect { schema: 'auto' }",
      fn: async () => {
        const c = await QmpClient.connect(sock, { timeoutMs: 10000, schema: 'auto' });
        if (c.schemaSource?.kind !== 'bundled') throw new Error('expected the bundled schema');
        await c.close();
      },
    },
    callsPerSample: 5,
    samples: 9,
    warmup: 3,
    target: 0.833,
  });
} finally {
  qemu.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
