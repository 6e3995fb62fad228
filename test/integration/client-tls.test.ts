// QMP over TLS against a real QEMU 7.2 with a throwaway CA made by openssl at test time.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { QmpClient } from '../../src/client/index.js';
import { QmpConnectionError } from '../../src/errors/index.js';
import { MACHINES, QEMU_BINARY, requireQemu } from '../helpers/qemu.js';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A CA and a server certificate for localhost/127.0.0.1, named as QEMU's tls-creds-x509 expects. */
function makeCerts(dir: string): void {
  const script = [
    'openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca-cert.pem -days 2 -subj "/CN=qmpkit test CA"',
    'openssl req -newkey rsa:2048 -nodes -keyout server-key.pem -out server.csr -subj "/CN=localhost"',
    'printf "subjectAltName=DNS:localhost,IP:127.0.0.1\\n" > ext.cnf',
    'openssl x509 -req -in server.csr -CA ca-cert.pem -CAkey ca-key.pem -CAcreateserial -out server-cert.pem -days 2 -extfile ext.cnf',
  ].join(' && ');
  execFileSync('sh', ['-c', script], { cwd: dir, stdio: 'ignore' });
}

test('TLS: a verified connection to QEMU works (pipelined too); an unknown CA is refused', async (t) => {
  if (!requireQemu(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-tls-'));
  const port = await freePort();
  let proc: ReturnType<typeof spawn> | undefined;
  try {
    makeCerts(dir);
    proc = spawn(
      QEMU_BINARY,
      [
        ...MACHINES.none,
        '-object',
        `tls-creds-x509,id=tls0,dir=${dir},endpoint=server,verify-peer=off`,
        '-chardev',
        `socket,id=qmp0,host=127.0.0.1,port=${port},server=on,wait=off,tls-creds=tls0`,
        '-mon',
        'chardev=qmp0,mode=control',
      ],
      { stdio: ['ignore', 'ignore', 'ignore'] },
    );
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
    await qmp.close();
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
