// What a client that never reads costs the simulated QEMU (issue: a client that never read events
// took it to 527 MB). Measured in a child process that owns its heap, over a real unix socket.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { MAX_OUTPUT_BYTES } from '../../src/limits.js';

const SCRIPT = `
import net from 'node:net';
const [sim_, path, batchArg] = process.argv.slice(1);
const { startSimulator } = await import(sim_);
const batch = Number(batchArg);
const sim = await startSimulator({ qmp: ['unix:' + path + ',server=on,wait=off'], stderr: { write: () => true } });
const connect = async () => {
  const sock = net.connect(path);
  let got = '';
  await new Promise((res, rej) => {
    sock.on('error', rej);
    sock.on('data', (c) => { got += c.toString('latin1'); if (got.includes('"return"')) res(); });
    sock.write('{"execute":"qmp_capabilities"}\\n');
  });
  return sock;
};
const idle = await connect();
idle.removeAllListeners('data');
idle.pause();
globalThis.gc();
const base = process.memoryUsage().rss;
let peak = 0;
const sample = () => { peak = Math.max(peak, process.memoryUsage().rss - base); };
const session = sim.server.sessions[0];
let code;
const closed = new Promise((res) => session.once('close', (err) => { code = err?.code; res(); }));
let done = false;
void closed.then(() => { done = true; });
let emitted = 0;
const data = { id: 'x'.repeat(60) };
while (!done && emitted < 5_000_000) {
  for (let i = 0; i < batch; i++) sim.server.emit('X_TEST', { ...data, n: emitted++ });
  sample();
  await new Promise((r) => setImmediate(r));
}
await closed;
sample();
// The monitor is free again: the next client is served.
const next = await connect();
next.destroy();
idle.destroy();
process.stdout.write(JSON.stringify({ peak, code, emitted }));
await sim.close();
`;

for (const batch of [1, 100]) {
  test(`memory: a client that never reads costs the simulator less than 2x the output cap + 32 MiB, then is cut off (${batch} event(s) per turn, child process)`, (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'qmpkit-outcap-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const sim = resolve(import.meta.dirname, '../../src/simulator/index.js');
    const r = spawnSync(
      process.execPath,
      ['--expose-gc', '--input-type=module', '-e', SCRIPT, sim, join(dir, 'qmp.sock'), String(batch)],
      { encoding: 'utf8', timeout: 120_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    const m = JSON.parse(r.stdout) as { peak: number; code: string | undefined; emitted: number };
    assert.equal(m.code, 'QMP_ERR_LIMIT');
    // Each event is over 100 bytes: the cap, not the loop's end, stopped it.
    assert.ok(m.emitted < 5_000_000, `emitted ${m.emitted}`);
    assert.ok(
      m.peak < 2 * MAX_OUTPUT_BYTES + 32 * 1024 * 1024,
      `peak RSS growth ${m.peak} bytes with maxOutputBytes ${MAX_OUTPUT_BYTES}`,
    );
  });
}
