// Fuzz targets with sessions: the simulated QEMU over an in-memory duplex, and the proxy (read-only
// listener) in front of it. After every case the client forces QEMU's known-good parser state and
// must get QEMU's answer to query-status before a deadline (no crash, no hang). Through the proxy,
// every request that reaches the simulated QEMU is parsed as QEMU parses it, and each must be one
// the read-only profile allows (no policy bypass); the VM must still be running.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { QmpProxy, QmpProxyPolicy } from '../../src/proxy/index.js';
import { type QmpSimulator, startSimulator } from '../../src/simulator/index.js';
import { QemuJsonParser } from '../../src/wire/index.js';
import { duplexPair, RawClient } from '../server/helpers.js';
import { atLimits, type Corpus, mutate, pick, policyTrick, prng, type Rand, randomBytes } from './fuzz-input.js';
import type { FuzzBudget, FuzzReport } from './fuzz-wire.js';

/** Commands a read-only client may have run on QEMU (besides the proxy's own negotiation). */
const READ_ONLY = /^(query-.*|qom-get|qom-list|qmp_capabilities)$/;

function sessionInput(rnd: Rand, corpus: Corpus, tricks: boolean): Buffer {
  const r = rnd();
  if (tricks && r < 0.35) return policyTrick(rnd);
  if (r < 0.5) {
    const lines = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => pick(rnd, corpus.requests)).join('');
    return mutate(rnd, Buffer.from(lines));
  }
  if (r < 0.97) return randomBytes(rnd, 200);
  return atLimits(rnd);
}

async function simulator(extra: string[] = []): Promise<QmpSimulator> {
  // -no-shutdown: a mutated system_powerdown must not end the simulated QEMU.
  const sim = await startSimulator({ argv: ['-machine', 'q35', '-no-shutdown', ...extra], stderr: process.stderr });
  sim.server.unregister('quit');
  return sim;
}

interface Session {
  client: RawClient;
  scanned: number;
}

async function open(connectTo: () => Promise<Duplex>): Promise<Session> {
  const client = new RawClient(await connectTo());
  await client.until(() => client.lines.length > 0, 'greeting');
  return { client, scanned: 0 };
}

/** Sends one case in random chunks, then the recovery and a probe; waits for the probe's answer. */
async function runCase(s: Session, input: Buffer, rnd: Rand, n: number, probeMs: number): Promise<void> {
  for (let at = 0; at < input.length; ) {
    const k = 1 + Math.floor(rnd() * (rnd() < 0.3 ? 8 : 4096));
    s.client.send(input.subarray(at, at + k));
    at += k;
  }
  const probe = `probe-${n}`;
  s.client.send(`\x1b\n{"execute":"qmp_capabilities"}\n{"execute":"query-status","id":"${probe}"}\n`);
  const want = `"id": "${probe}"}`;
  let answer: string | undefined;
  await s.client.until(
    () => {
      for (; s.scanned < s.client.lines.length && answer === undefined; s.scanned++) {
        const l = s.client.lines[s.scanned] as string;
        if (l.endsWith(want)) answer = l;
      }
      return answer !== undefined;
    },
    `answer to ${probe} (input ${JSON.stringify(input.toString('latin1').slice(0, 200))})`,
    probeMs,
  );
  assert.ok(answer?.startsWith('{"return": {"status": '), `bad probe answer: ${answer}`);
}

async function drive(
  name: string,
  budget: FuzzBudget,
  corpus: Corpus,
  connectTo: () => Promise<Duplex>,
  tricks: boolean,
  afterCase: (input: Buffer) => void,
): Promise<FuzzReport> {
  const rnd = prng(budget.seed);
  const started = Date.now();
  let inputs = 0;
  let bytes = 0;
  let s = await open(connectTo);
  try {
    while (inputs < budget.maxInputs && Date.now() - started < budget.maxMs) {
      inputs++;
      const input = sessionInput(rnd, corpus, tricks);
      bytes += input.length;
      await runCase(s, input, rnd, inputs, 10_000);
      afterCase(input);
      if (rnd() < 0.05) {
        s.client.stream.destroy();
        s = await open(connectTo);
      }
    }
  } finally {
    s.client.stream.destroy();
  }
  return { target: name, inputs, bytes, ms: Date.now() - started };
}

/** The simulated QEMU, served over in-memory duplexes. */
export async function fuzzServer(budget: FuzzBudget, corpus: Corpus): Promise<FuzzReport> {
  const sim = await simulator();
  try {
    return await drive(
      'server',
      budget,
      corpus,
      async () => {
        const [a, b] = duplexPair();
        sim.server.serve(b);
        return a;
      },
      false,
      () => {},
    );
  } finally {
    await sim.close();
  }
}

/** The proxy, read-only listener, in front of the simulated QEMU; the upstream bytes are watched. */
export async function fuzzProxy(budget: FuzzBudget, corpus: Corpus): Promise<FuzzReport> {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-fuzz-'));
  const sim = await simulator(['-S']);
  sim.runstate.set('running');
  const seen: string[] = [];
  // A tap between proxy and QEMU: what QEMU reads is parsed as QEMU parses it.
  const tap = createServer((socket) => {
    const parser = new QemuJsonParser();
    const [a, b] = duplexPair();
    sim.server.serve(b);
    socket.on('data', (chunk: Buffer) => {
      for (const it of parser.push(chunk)) {
        if (!('value' in it) || !(it.value instanceof Map)) continue;
        const name = it.value.get('execute') ?? it.value.get('exec-oob');
        seen.push(typeof name === 'string' ? name : JSON.stringify(String(name)));
      }
      a.write(chunk);
    });
    a.on('data', (chunk: Buffer) => socket.write(chunk));
    socket.on('close', () => a.destroy());
    socket.on('error', () => a.destroy());
    a.on('close', () => socket.destroy());
  });
  const upstream = join(dir, 'q.sock');
  await new Promise<void>((resolve) => tap.listen(upstream, resolve));
  const ro = join(dir, 'ro.sock');
  const policy = new QmpProxyPolicy({ listeners: { [ro]: 'read-only' } });
  const proxy = await QmpProxy.start({ upstream, listen: [ro], policy, reconnect: false });
  await proxy.whenUpstream();
  try {
    return await drive(
      'proxy',
      budget,
      corpus,
      () =>
        new Promise<Duplex>((resolve, reject) => {
          const s = connect(ro);
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        }),
      true,
      (input) => {
        // The probe went through the tap: the watch works.
        assert.ok(seen.includes('query-status'), 'the tap saw the probe');
        const bad = seen.filter((c) => !READ_ONLY.test(c));
        assert.deepEqual(bad, [], `policy bypass: ${JSON.stringify(input.toString('latin1').slice(0, 300))}`);
        assert.equal(
          sim.runstate.state,
          'running',
          `the VM left 'running': ${JSON.stringify(input.toString('latin1').slice(0, 300))}`,
        );
        assert.ok(proxy.upstreamConnected, 'the upstream session survived');
        seen.length = 0;
      },
    );
  } finally {
    await proxy.close();
    await new Promise<void>((resolve) => tap.close(() => resolve()));
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
