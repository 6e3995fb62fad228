// Bounded, seeded fuzzing of the proxy in front of the simulator: random and mutated input in random
// chunks must never crash or hang the proxy, and each client session still gets QEMU's answer to
// query-status after every case (so the upstream session stays in step too).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { test } from 'node:test';
import { QmpProxy } from '../../src/proxy/index.js';
import { startSimulator } from '../../src/simulator/index.js';
import { runFuzz } from '../server/fuzz-driver.js';

test('fuzz through the proxy: random and mutated requests (seeded, at most 200 cases or 6 s)', {
  timeout: 60000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-pfuzz-'));
  const qsock = join(dir, 'q.sock');
  // -no-shutdown: a mutated system_powerdown must not end the simulated QEMU.
  const sim = await startSimulator({
    argv: ['-machine', 'q35', '-no-shutdown', '-qmp', `unix:${qsock},server=on,wait=off`],
  });
  sim.server.unregister('quit');
  const psock = join(dir, 'p.sock');
  const proxy = await QmpProxy.start({ upstream: qsock, listen: [psock], reconnect: false });
  try {
    const seed = Number(process.env['QMPKIT_FUZZ_SEED'] ?? 20_261_125);
    const r = await runFuzz({
      seed,
      maxCases: 200,
      maxMs: 6000,
      target: {
        connect: () =>
          new Promise<Duplex>((resolve, reject) => {
            const s = connect(psock);
            s.once('connect', () => resolve(s));
            s.once('error', reject);
          }),
        close: async () => {},
      },
    });
    assert.ok(r.cases >= 20, `ran ${r.cases} cases`);
    assert.ok(r.linesReceived > r.cases, 'every case was answered');
    assert.ok(proxy.upstreamConnected, 'the upstream session survived');
  } finally {
    await proxy.close();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
