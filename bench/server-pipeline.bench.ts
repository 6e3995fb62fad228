// Throughput of the server framework: batches of pipelined `query-status` requests over an
// in-memory duplex, against a baseline "server" on the same duplex that splits lines and answers
// with JSON.parse/JSON.stringify (no QEMU dialect, no queue). Prints one JSON line with the median
// and p95 time per batch and the ratio to the baseline. Usage: node dist/bench/server-pipeline.bench.js [batch=1000] [runs=15]
import type { Duplex } from 'node:stream';
import { QmpServer } from '../src/server/index.js';
import { duplexPair } from '../test/server/helpers.js';

const [batch = 1000, runs = 15] = process.argv.slice(2).map(Number);

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
}

/** Sends `batch` requests and resolves when `batch` reply lines arrived. */
function roundTrip(client: Duplex, request: string): Promise<number> {
  return new Promise((resolve) => {
    let lines = 0;
    const start = performance.now();
    const onData = (chunk: Buffer): void => {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
      if (lines >= batch) {
        client.off('data', onData);
        resolve(performance.now() - start);
      }
    };
    client.on('data', onData);
    client.write(request.repeat(batch));
  });
}

async function measure(client: Duplex): Promise<number[]> {
  const request = '{"execute":"query-status","id":1}\n';
  await roundTrip(client, request);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await roundTrip(client, request));
  return times;
}

// qmpkit server
const server = new QmpServer();
server.register('query-status', () => ({ running: true, singlestep: false, status: 'running' }));
const [a, b] = duplexPair();
server.serve(b);
await new Promise<void>((r) => a.once('data', () => r()));
a.write('{"execute":"qmp_capabilities"}\n');
await new Promise<void>((r) => a.once('data', () => r()));
const qmpkit = await measure(a);
a.destroy();
await server.close();

// baseline: newline-split JSON.parse / JSON.stringify
const [c, d] = duplexPair();
let rest = '';
d.on('data', (chunk: Buffer) => {
  const parts = (rest + chunk.toString()).split('\n');
  rest = parts.pop() ?? '';
  let out = '';
  for (const p of parts) {
    const req = JSON.parse(p) as { id?: unknown };
    out += `${JSON.stringify({ return: { status: 'running', singlestep: false, running: true }, id: req.id })}\r\n`;
  }
  d.write(out);
});
const baseline = await measure(c);
c.destroy();

console.log(
  JSON.stringify({
    name: 'server-pipeline',
    batch,
    runs,
    medianMs: quantile(qmpkit, 0.5),
    p95Ms: quantile(qmpkit, 0.95),
    baselineMedianMs: quantile(baseline, 0.5),
    ratio: quantile(qmpkit, 0.5) / quantile(baseline, 0.5),
    requestsPerSecond: Math.round(batch / (quantile(qmpkit, 0.5) / 1000)),
  }),
);
