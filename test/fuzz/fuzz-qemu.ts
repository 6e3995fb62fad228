// Differential fuzz target: the same random and mutated bytes go to a real QEMU 7.2 (`-qmp stdio`)
// and to the simulated QEMU (in-memory duplex); every input is followed by QEMU's resync byte and a
// numbered query-name, and the replies to each input must be byte-identical (timestamps and the
// version's package string aside).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startSimulator } from '../../src/simulator/index.js';
import { QEMU_BINARY } from '../helpers/qemu.js';
import { duplexPair } from '../server/helpers.js';
import { type Corpus, mutate, pick, prng, randomBytes } from './fuzz-input.js';
import type { FuzzBudget, FuzzReport } from './fuzz-wire.js';

const ARGV = ['-machine', 'none', '-nodefaults', '-display', 'none'];

/** The replies to each input, by input number. */
function byInput(text: string): string[] {
  const out: string[] = [];
  let cur: string[] = [];
  for (const line of text.split('\r\n').slice(1)) {
    if (line.includes('"event"')) continue;
    cur.push(line.replace(/"package": "[^"]*"/, '"package": P'));
    const m = /^\{"return": \{\}, "id": (\d+)\}$/.exec(line);
    if (m) {
      out[Number(m[1])] = cur.join('\n');
      cur = [];
    }
  }
  return out;
}

async function qemuReplies(input: Buffer, last: string): Promise<string> {
  const q = spawn(QEMU_BINARY, [...ARGV, '-qmp', 'stdio'], { stdio: ['pipe', 'pipe', 'ignore'] });
  let out = '';
  // 'close', not 'exit': the last replies may still be in the pipe when QEMU exits.
  const exited = new Promise<void>((resolve) => q.once('close', () => resolve()));
  const timer = setTimeout(() => q.kill('SIGKILL'), 60_000);
  q.stdout.on('data', (d: Buffer) => {
    out += d.toString('latin1');
    // Only after the last answer: QEMU drops the requests it has queued when its input ends.
    if (out.includes(last) && q.stdin.writable) q.stdin.end('{"execute":"quit"}\n');
  });
  q.stdin.on('error', () => {});
  q.stdin.write(input);
  await exited;
  clearTimeout(timer);
  return out;
}

async function simulatorReplies(input: Buffer, last: string): Promise<string> {
  const sim = await startSimulator({ argv: ARGV });
  const [a, b] = duplexPair();
  sim.server.serve(b);
  let out = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the simulated QEMU did not answer every input')), 60_000);
      a.on('data', (d: Buffer) => {
        out += d.toString('latin1');
        if (out.includes(last)) {
          clearTimeout(timer);
          resolve();
        }
      });
      a.write(input);
    });
  } finally {
    a.destroy();
    await sim.close();
  }
  return out;
}

/** Runs batches of inputs through both until the budget is spent. */
export async function fuzzAgainstQemu(budget: FuzzBudget, corpus: Corpus): Promise<FuzzReport> {
  const rnd = prng(budget.seed);
  const safe = corpus.requests.filter((l) => /"(query-(status|name|version|kvm|uuid)|qmp_capabilities)"/.test(l));
  const started = Date.now();
  let inputs = 0;
  let bytes = 0;
  while (inputs < budget.maxInputs && Date.now() - started < budget.maxMs) {
    const batch: Buffer[] = [];
    for (let i = 0; i < 200; i++) {
      const b = rnd() < 0.6 ? randomBytes(rnd, 60) : mutate(rnd, Buffer.from(pick(rnd, safe)));
      batch.push(Buffer.concat([b, Buffer.from(`\x1b\n{"execute":"query-name","id":${i}}\n`)]));
    }
    const all = Buffer.concat([Buffer.from('{"execute":"qmp_capabilities"}\n'), ...batch]);
    const last = `"id": ${batch.length - 1}}`;
    const [q, s] = await Promise.all([qemuReplies(all, last), simulatorReplies(all, last)]);
    const want = byInput(q);
    const got = byInput(s);
    for (let i = 0; i < batch.length; i++)
      assert.equal(got[i], want[i], `seed ${budget.seed}: input ${JSON.stringify(batch[i]?.toString('latin1'))}`);
    inputs += batch.length;
    bytes += all.length;
  }
  return { target: 'qemu-differential', inputs, bytes, ms: Date.now() - started };
}
