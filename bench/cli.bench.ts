// One-shot CLI cost: `qmpkit exec SOCK query-status` as a child process against a ten-line raw Node
// script that connects, negotiates, asks query-status and prints the return. Both run as fresh
// processes against the same simulated QEMU, alternating, and the medians of their wall times are
// compared. Target: the CLI within 1.2x of the raw script (ratio >= 0.83).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startSimulator } from '../src/simulator/index.js';
import { reportCase } from './harness.js';
import { median, p95 } from './sim-proxy-common.js';

const RAW = `import { createConnection } from 'node:net';
const s = createConnection(process.argv[2]);
let buf = '';
let n = 0;
s.on('data', (d) => {
  buf += d;
  for (let i; (i = buf.indexOf('\\n')) !== -1; buf = buf.slice(i + 1), n++) {
    if (n === 0) s.write('{"execute":"qmp_capabilities"}\\n{"execute":"query-status"}\\n');
    if (n === 2) { process.stdout.write(JSON.stringify(JSON.parse(buf.slice(0, i)).return) + '\\n'); s.end(); }
  }
});
`;

// What a user's `qmpkit` runs: the bundle package.json's bin names.
const QMPKIT = resolve(import.meta.dirname, '../src/bin/qmpkit.cjs');

/** Runs one process to its end; resolves with its wall time in ns, checking what it printed. */
function timed(args: readonly string[]): Promise<number> {
  return new Promise((res, rej) => {
    const t0 = process.hrtime.bigint();
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    p.on('error', rej);
    p.on('close', (code) => {
      const ns = Number(process.hrtime.bigint() - t0);
      if (code !== 0 || !out.includes('"running"')) rej(new Error(`${args.join(' ')}: exit ${code}, output ${out}`));
      else res(ns);
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'qmpkit-bench-cli-'));
const sock = join(dir, 'qmp.sock');
const raw = join(dir, 'raw.mjs');
writeFileSync(raw, RAW);
const sim = await startSimulator({ argv: ['-machine', 'none', '-qmp', `unix:${sock},server=on,wait=off`] });
try {
  const cli = [QMPKIT, 'exec', sock, 'query-status'];
  const script = [raw, sock];
  for (let i = 0; i < 3; i++) {
    await timed(script);
    await timed(cli);
  }
  const c: number[] = [];
  const r: number[] = [];
  for (let i = 0; i < 21; i++) {
    // Which side goes first alternates, so drift hits both alike.
    if (i % 2 === 0) {
      r.push(await timed(script));
      c.push(await timed(cli));
    } else {
      c.push(await timed(cli));
      r.push(await timed(script));
    }
  }
  const ratio = median(r) / median(c);
  reportCase({
    case: 'cli: one-shot exec query-status (process start to exit)',
    subject: 'qmpkit exec SOCK query-status',
    baseline: 'raw node script',
    median_ns: Math.round(median(c)),
    p95_ns: Math.round(p95(c)),
    baseline_median_ns: Math.round(median(r)),
    baseline_p95_ns: Math.round(p95(r)),
    ratio: Number(ratio.toFixed(2)),
    target: 0.83,
    meets_target: ratio >= 0.83,
  });
} finally {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
}
