// The proxy's TLS listener with client certificates, in front of the simulator: a client without a
// certificate is refused; one with a certificate gets the profile mapped to its CN.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { QmpClient } from '../../src/client/index.js';
import { QmpCommandError, QmpError } from '../../src/errors/index.js';
import { QmpProxy, QmpProxyPolicy } from '../../src/proxy/index.js';
import { startSimulator } from '../../src/simulator/index.js';

function makePki(dir: string): void {
  const script = [
    'openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca-cert.pem -days 2 -subj "/CN=qmpkit test CA"',
    'openssl req -newkey rsa:2048 -nodes -keyout server-key.pem -out server.csr -subj "/CN=localhost"',
    'printf "subjectAltName=DNS:localhost,IP:127.0.0.1\\n" > ext.cnf',
    'openssl x509 -req -in server.csr -CA ca-cert.pem -CAkey ca-key.pem -CAcreateserial -out server-cert.pem -days 2 -extfile ext.cnf',
    'openssl req -newkey rsa:2048 -nodes -keyout client-key.pem -out client.csr -subj "/CN=metrics"',
    'openssl x509 -req -in client.csr -CA ca-cert.pem -CAkey ca-key.pem -CAcreateserial -out client-cert.pem -days 2',
  ].join(' && ');
  execFileSync('sh', ['-c', script], { cwd: dir, stdio: 'ignore' });
}

test('TLS listener: client certificates required, per-CN policy applied', { timeout: 60000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-ptls-'));
  const sim = await startSimulator({
    argv: ['-machine', 'none', '-qmp', `unix:${join(dir, 'q.sock')},server=on,wait=off`],
  });
  let proxy: QmpProxy | undefined;
  try {
    makePki(dir);
    const f = (n: string): Buffer => readFileSync(join(dir, n));
    proxy = await QmpProxy.start({
      upstream: join(dir, 'q.sock'),
      listen: [
        {
          address: '127.0.0.1:0',
          tls: {
            cert: f('server-cert.pem'),
            key: f('server-key.pem'),
            ca: f('ca-cert.pem'),
            requestCert: true,
            rejectUnauthorized: true,
          },
        },
      ],
      policy: new QmpProxyPolicy({ clients: { metrics: 'read-only' } }),
    });
    const addr = proxy.addresses[0]?.replace(/^tls:/, '') ?? '';
    const port = addr.slice(addr.lastIndexOf(':') + 1);
    const qmp = await QmpClient.connect(`localhost:${port}`, {
      timeoutMs: 5000,
      tls: { ca: f('ca-cert.pem'), cert: f('client-cert.pem'), key: f('client-key.pem') },
    });
    assert.equal((await qmp.execute('query-status')).status, 'running');
    await assert.rejects(
      qmp.execute('stop'),
      (e: unknown) => e instanceof QmpCommandError && /not allowed/.test(e.desc),
    );
    await qmp.close();
    // No client certificate: the handshake fails or the server drops the connection.
    await assert.rejects(
      QmpClient.connect(`localhost:${port}`, { timeoutMs: 3000, tls: { ca: f('ca-cert.pem') } }),
      QmpError,
    );
  } finally {
    await proxy?.close();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
