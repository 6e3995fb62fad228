// What large requests cost the proxy (issue: six concurrent 60 MB requests took it to 3.8 GB). The
// proxy runs in a child process that owns its heap and reports its peak RSS growth; the simulator
// behind it and the clients run here.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { startSimulator } from '../../src/simulator/index.js';

const CHILD = `
const { QmpProxy } = await import(process.argv[1]);
const proxy = await QmpProxy.start({ upstream: process.argv[2], listen: [process.argv[3]] });
globalThis.gc();
const base = process.memoryUsage().rss;
let peak = 0;
const sample = () => { peak = Math.max(peak, process.memoryUsage().rss - base); };
const timer = setInterval(sample, 5);
process.stdout.write('ready\\n');
process.stdin.once('data', async () => {
  sample();
  clearInterval(timer);
  process.stdout.write(JSON.stringify({ peak }) + '\\n');
  await proxy.close();
  process.exit(0);
});
`;

/** Sends one request with a string of `size` bytes of `byte` and a query after it; resolves to both replies. */
async function bigRequest(path: string, tag: string, size: number, byte: number): Promise<string[]> {
  const s = connect(path);
  let got = '';
  const waiters: Array<() => void> = [];
  s.setEncoding('latin1');
  s.on('data', (d: string) => {
    got += d;
    for (const w of [...waiters]) w();
  });
  const seen = (what: string): Promise<void> =>
    new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`no ${what}: ${got.slice(0, 300)}`)), 60_000);
      const check = (): void => {
        if (!got.includes(what)) return;
        clearTimeout(timer);
        waiters.splice(waiters.indexOf(check), 1);
        res();
      };
      waiters.push(check);
      check();
    });
  try {
    await seen('"QMP"');
    s.write('{"execute":"qmp_capabilities","id":"cap"}\n');
    await seen('"cap"');
    s.write(`{"execute":"query-status","id":"${tag}","arguments":{"x":"`);
    const piece = Buffer.alloc(65536, byte);
    for (let sent = 0; sent < size; sent += piece.length) {
      if (!s.write(piece)) await new Promise((r) => s.once('drain', r));
    }
    s.write(`"}}\n{"execute":"query-status","id":"after-${tag}"}\n`);
    await seen(`"after-${tag}"`);
    return got.split('\r\n').filter((l) => l.includes(`"${tag}"`) || l.includes(`"after-${tag}"`));
  } finally {
    s.destroy();
  }
}

async function measure(n: number, size: number, byte: number): Promise<{ peak: number; replies: string[][] }> {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-pmem-'));
  const q = join(dir, 'q.sock');
  const p = join(dir, 'p.sock');
  const sim = await startSimulator({ argv: ['-machine', 'none', '-qmp', `unix:${q},server=on,wait=off`] });
  const proxyModule = resolve(import.meta.dirname, '../../src/proxy/index.js');
  const child = spawn(process.execPath, ['--expose-gc', '--input-type=module', '-e', CHILD, proxyModule, q, p], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  const waiters: Array<() => void> = [];
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    out += d;
    for (const w of [...waiters]) w();
  });
  const line = (what: string): Promise<void> =>
    new Promise((res, rej) => {
      const check = (): void => {
        if (out.includes(what)) res();
        else if (child.exitCode !== null) rej(new Error(`proxy exited: ${out}`));
      };
      waiters.push(check);
      child.once('exit', check);
      check();
    });
  try {
    await line('ready');
    const replies = await Promise.all(Array.from({ length: n }, (_, i) => bigRequest(p, `big${i}`, size, byte)));
    assert.equal(sim.runstate.state, 'running');
    child.stdin.write('x');
    await line('peak');
    const m = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { peak: number };
    return { peak: m.peak, replies };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const SLACK = 64 * 1024 * 1024;
const REFUSED =
  /"error": \{"class": "GenericError", "desc": "query-status: the request's JSON tokens take at least \d+ bytes as encoded; QEMU reads less than 67108864 in one message \(maxTokenBytes\); nothing was sent/;

test('proxy memory: a request refused for its re-encoded size costs less than 4x its size (child process)', {
  timeout: 120000,
}, async () => {
  const size = 12 * 1024 * 1024;
  const m = await measure(1, size, 0x7f);
  assert.match(m.replies[0]?.[0] ?? '', REFUSED);
  assert.match(m.replies[0]?.[1] ?? '', /"status": "running"/);
  assert.ok(m.peak < 4 * size + SLACK, `peak RSS growth ${m.peak} bytes for a ${size}-byte request`);
});

test('proxy memory: six concurrent such requests cost less than 4x their sizes (child process)', {
  timeout: 120000,
}, async () => {
  const size = 12 * 1024 * 1024;
  const m = await measure(6, size, 0x7f);
  for (const r of m.replies) {
    assert.match(r[0] ?? '', REFUSED);
    assert.match(r[1] ?? '', /"status": "running"/);
  }
  assert.ok(m.peak < 4 * 6 * size + SLACK, `peak RSS growth ${m.peak} bytes for six ${size}-byte requests`);
});

const UNEXPECTED = /"error": \{"class": "GenericError", "desc": "Parameter 'x' is unexpected"\}/;

test('proxy memory: a forwarded 40 MB request costs less than 4x its size (child process)', {
  timeout: 120000,
}, async () => {
  // Read, decoded to a value and sent on as bytes beside the envelope: no copy as one line.
  const size = 40 * 1024 * 1024;
  const m = await measure(1, size, 0x61);
  assert.match(m.replies[0]?.[0] ?? '', UNEXPECTED);
  assert.match(m.replies[0]?.[1] ?? '', /"status": "running"/);
  assert.ok(m.peak < 4 * size + SLACK, `peak RSS growth ${m.peak} bytes for a ${size}-byte request`);
});

test('proxy memory: six concurrent forwarded requests cost less than 4x their sizes (child process)', {
  timeout: 120000,
}, async () => {
  const size = 20 * 1024 * 1024;
  const m = await measure(6, size, 0x61);
  for (const r of m.replies) {
    assert.match(r[0] ?? '', UNEXPECTED);
    assert.match(r[1] ?? '', /"status": "running"/);
  }
  assert.ok(m.peak < 4 * 6 * size + SLACK, `peak RSS growth ${m.peak} bytes for six ${size}-byte requests`);
});
