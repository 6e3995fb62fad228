// QMP over TLS against a real QEMU 7.2 with a throwaway CA made by openssl at test time.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { QmpClient } from '../../src/client/index.js';
import { QmpConnectionError } from '../../src/errors/index.js';
import { requireQemu } from '../helpers/qemu.js';
import { freePort, makeServerCerts, startTlsQemu } from '../helpers/tls.js';

test('TLS: a verified connection to QEMU works (pipelined too); an unknown CA is refused', async (t) => {
  if (!requireQemu(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-tls-'));
  const port = await freePort();
  let proc: ChildProcess | undefined;
  try {
    makeServerCerts(dir);
    proc = startTlsQemu(dir, port);
    const ca = readFileSync(join(dir, 'ca-cert.pem'));
    let qmp: QmpClient | undefined;
    const deadline = Date.now() + 15000;
    // Poll-connect with a deadline: QEMU gives no other sign that it listens.
    while (!qmp) {
      try {
        qmp = await QmpClient.connect(`localhost:${port}`, { tls: { ca }, timeoutMs: 5000 });
      } catch (e) {
        if (!(e instanceof QmpConnectionError) || e.syscallCode !== 'ECONNREFUSED' || Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    assert.equal(qmp.greeting.QMP.version.qemu.major, 7);
    const [status, name, kvm] = await Promise.all([
      qmp.execute('query-status'),
      qmp.execute('query-name'),
      qmp.execute('query-kvm'),
    ]);
    assert.equal(status.status, 'running');
    assert.deepEqual(name, {});
    assert.equal(typeof kvm.present, 'boolean');
    // Commands written while others are in flight: QEMU 7.2 leaves TLS plaintext unread unless
    // another record arrives; these stalled for good before the client's wake-up records.
    const wide = qmp;
    for (let round = 0; round < 10; round++) {
      const names: unknown[] = await Promise.all(Array.from({ length: 12 }, () => wide.execute('query-name')));
      assert.equal(names.length, 12);
    }
    await qmp.close();
    const narrow = await QmpClient.connect(`localhost:${port}`, { tls: { ca }, timeoutMs: 5000, maxQueuedRequests: 3 });
    for (let round = 0; round < 10; round++)
      await Promise.all(Array.from({ length: 12 }, () => narrow.execute('query-status')));
    await narrow.close();
    await assert.rejects(QmpClient.connect(`localhost:${port}`, { tls: true, timeoutMs: 5000 }), (e: unknown) => {
      assert.ok(e instanceof QmpConnectionError);
      assert.equal(e.code, 'QMP_ERR_CONNECT');
      assert.match(e.message, new RegExp(`localhost:${port}`));
      return true;
    });
  } finally {
    proc?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
