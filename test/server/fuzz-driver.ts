// Seeded fuzzing of a QmpServer session: random bytes and mutated real requests, sent in random
// chunks; after every case the client forces QEMU's known-good parser state and must get an
// answer to query-status. Shared by test/server/fuzz.test.ts and bench/server-fuzz.bench.ts.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Duplex } from 'node:stream';
import type { QmpServer } from '../../src/server/index.js';
import { duplexPair, prng, RawClient } from './helpers.js';
import { stubQemu } from './stub-qemu.js';

export interface FuzzOptions {
  seed: number;
  maxCases: number;
  /** Stop starting new cases after this many ms. */
  maxMs: number;
  /** Send no fuzz input, only the recovery and probe (a baseline for timings). */
  clean?: boolean;
  /** Deadline for the probe answer after each case. */
  probeMs?: number;
  /** What to fuzz instead of a stub QEMU server (the proxy, say): a fresh connection per call. */
  target?: FuzzTarget;
}

/** Something that serves QMP connections and can be fuzzed. */
export interface FuzzTarget {
  connect(): Promise<Duplex>;
  close(): Promise<void>;
}

export interface FuzzResult {
  cases: number;
  bytesSent: number;
  linesReceived: number;
  reconnects: number;
  ms: number;
  heapGrowthBytes: number;
  /** Duration of each case (send + probe answer), in ms. */
  caseMs: number[];
}

/** Client lines of the golden transcripts: realistic requests to mutate. */
function corpus(): string[] {
  const file = resolve(import.meta.dirname, '../../../test/fixtures/golden/golden.json');
  const g = JSON.parse(readFileSync(file, 'utf8')) as {
    scenarios: Record<string, { wire: Array<{ dir: string; data?: string }> }>;
  };
  const out = new Set<string>();
  for (const s of Object.values(g.scenarios))
    for (const w of s.wire) if (w.dir.startsWith('C') && w.data !== undefined && w.data.length < 4000) out.add(w.data);
  out.add('{"exec-oob": "migrate-pause", "id": 1}\n');
  out.add('{"execute": "qmp_capabilities", "arguments": {"enable": ["oob"]}}\n');
  return [...out].filter((l) => !l.includes('"quit"'));
}

const JSONISH = Buffer.from('{}[]:,"\'\\ \n\r\t0123456789.-+eEtrufalsn xyz\u00e9');

function generate(rnd: () => number, lines: readonly string[]): Buffer {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)] as T;
  const r = rnd();
  if (r < 0.15) {
    const n = Math.floor(rnd() * 200);
    return Buffer.from(
      Array.from({ length: n }, () =>
        rnd() < 0.7 ? (JSONISH[Math.floor(rnd() * JSONISH.length)] ?? 0) : Math.floor(rnd() * 256),
      ),
    );
  }
  if (r < 0.2) {
    const depth = Math.floor(rnd() * 2100);
    return Buffer.from(`{"execute":"query-status","id":${'['.repeat(depth)}${rnd() < 0.5 ? ']'.repeat(depth) : ''}}\n`);
  }
  if (r < 0.23) return Buffer.from(`{"execute":"query-status","id":"${'x'.repeat(Math.floor(rnd() * 200_000))}"}\n`);
  const buf = Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => pick(lines)).join(''));
  const mutations = Math.floor(rnd() * 6);
  let bytes = [...buf];
  for (let i = 0; i < mutations; i++) {
    const at = Math.floor(rnd() * (bytes.length + 1));
    const m = rnd();
    if (m < 0.3) bytes[at] = Math.floor(rnd() * 256);
    else if (m < 0.55) bytes.splice(at, 0, JSONISH[Math.floor(rnd() * JSONISH.length)] ?? 0);
    else if (m < 0.75) bytes.splice(at, 1 + Math.floor(rnd() * 8));
    else if (m < 0.9) bytes = bytes.slice(0, at);
    else bytes.splice(at, 0, ...bytes.slice(at, at + Math.floor(rnd() * 30)));
  }
  return Buffer.from(bytes);
}

function stubTarget(server: QmpServer): FuzzTarget {
  return {
    connect: async () => {
      const [a, b] = duplexPair();
      server.serve(b);
      return a;
    },
    close: () => server.close(),
  };
}

async function connectClient(target: FuzzTarget): Promise<RawClient> {
  const c = new RawClient(await target.connect());
  await c.next();
  return c;
}

/** Runs the fuzzer; throws when the server crashes, hangs or stops answering. */
export async function runFuzz(options: FuzzOptions): Promise<FuzzResult> {
  const rnd = prng(options.seed);
  const lines = corpus();
  let target = options.target;
  if (target === undefined) {
    const server = stubQemu('q35', {}, { eventThrottleMs: 10 });
    server.unregister('quit');
    target = stubTarget(server);
  }
  const started = Date.now();
  const heapBefore = process.memoryUsage().heapUsed;
  let c = await connectClient(target);
  let cases = 0;
  let bytesSent = 0;
  let linesReceived = 0;
  let reconnects = 0;
  let scanned = 0;
  let counted = 0;
  const caseMs: number[] = [];
  try {
    while (cases < options.maxCases && Date.now() - started < options.maxMs) {
      cases++;
      const caseStart = performance.now();
      const input = options.clean ? Buffer.alloc(0) : generate(rnd, lines);
      for (let at = 0; at < input.length; ) {
        const n = 1 + Math.floor(rnd() * (rnd() < 0.3 ? 8 : 4096));
        c.send(input.subarray(at, at + n));
        at += n;
      }
      bytesSent += input.length;
      // Force a known-good parser state (QEMU's documented trick), then probe.
      const probe = `probe-${cases}`;
      c.send(`\x1b\n{"execute":"qmp_capabilities"}\n{"execute":"query-status","id":"${probe}"}\n`);
      const want = `"id": "${probe}"}`;
      let answer: string | undefined;
      await c.until(
        () => {
          for (; scanned < c.lines.length && answer === undefined; scanned++) {
            const l = c.lines[scanned] as string;
            if (l.endsWith(want)) answer = l;
          }
          return answer !== undefined;
        },
        `answer to ${probe} (case ${cases}, input ${JSON.stringify(input.toString('latin1').slice(0, 200))})`,
        options.probeMs ?? 5000,
      );
      if (answer === undefined || !answer.startsWith('{"return": {"status": '))
        throw new Error(`bad probe answer: ${answer}`);
      linesReceived += c.lines.length - counted;
      counted = c.lines.length;
      caseMs.push(performance.now() - caseStart);
      if (rnd() < 0.05) {
        c.stream.destroy();
        c = await connectClient(target);
        scanned = 0;
        counted = 0;
        reconnects++;
      }
    }
  } finally {
    c.stream.destroy();
    await target.close();
  }
  return {
    cases,
    bytesSent,
    linesReceived,
    reconnects,
    ms: Date.now() - started,
    heapGrowthBytes: process.memoryUsage().heapUsed - heapBefore,
    caseMs,
  };
}
