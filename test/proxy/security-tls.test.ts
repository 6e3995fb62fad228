// Hostile clients of the proxy's TLS listener: sockets that close or stall before their handshake
// are counted against the limits and reclaimed, close() ends them all at once, and a client refused
// for its certificate gets QMP_ERR_CONNECT.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { QmpClient } from '../../src/client/index.js';
import { QmpConnectionError } from '../../src/errors/index.js';
import { QmpProxy, type QmpProxyNotice, type QmpProxyOptions, QmpProxyPolicy } from '../../src/proxy/index.js';
import { startSimulator } from '../../src/simulator/index.js';
import { CliProcess, QMPKIT } from '../cli/helpers/run-cli.js';
import { freePort } from '../helpers/tls.js';

function makePki(dir: string): void {
  const script = [
    'openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca-cert.pem -days 2 -subj "/CN=qmpkit test CA"',
    'openssl req -x509 -newkey rsa:2048 -nodes -keyout other-ca-key.pem -out other-ca-cert.pem -days 2 -subj "/CN=other CA"',
    'openssl req -newkey rsa:2048 -nodes -keyout server-key.pem -out server.csr -subj "/CN=localhost"',
    'printf "subjectAltName=DNS:localhost,IP:127.0.0.1\\n" > ext.cnf',
    'openssl x509 -req -in server.csr -CA ca-cert.pem -CAkey ca-key.pem -CAcreateserial -out server-cert.pem -days 2 -extfile ext.cnf',
    'openssl req -newkey rsa:2048 -nodes -keyout client-key.pem -out client.csr -subj "/CN=owner"',
    'openssl x509 -req -in client.csr -CA ca-cert.pem -CAkey ca-key.pem -CAcreateserial -out client-cert.pem -days 2',
    'openssl req -newkey rsa:2048 -nodes -keyout foreign-key.pem -out foreign.csr -subj "/CN=owner"',
    'openssl x509 -req -in foreign.csr -CA other-ca-cert.pem -CAkey other-ca-key.pem -CAcreateserial -out foreign-cert.pem -days 2',
  ].join(' && ');
  execFileSync('sh', ['-c', script], { cwd: dir, stdio: 'ignore' });
}

// One throwaway PKI for the whole file: making keys is the slow part.
let pki = '';
before(() => {
  pki = mkdtempSync(join(tmpdir(), 'qmpkit-stls-pki-'));
  makePki(pki);
});
after(() => rmSync(pki, { recursive: true, force: true }));

/** Polls `pred` until it holds or `ms` pass (for counts only visible inside the proxy). */
async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function rawSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

function closed(s: Socket, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (s.destroyed) return resolve();
    const t = setTimeout(() => reject(new Error('the proxy did not close the socket')), ms);
    s.once('close', () => {
      clearTimeout(t);
      resolve();
    });
    s.on('error', () => {});
    s.resume();
  });
}

interface Fixture {
  proxy: QmpProxy;
  port: number;
  f: (name: string) => Buffer;
  notices: QmpProxyNotice[];
}

async function withTlsProxy(options: Partial<QmpProxyOptions>, body: (fx: Fixture) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-stls-'));
  const sim = await startSimulator({
    argv: ['-machine', 'none', '-qmp', `unix:${join(dir, 'q.sock')},server=on,wait=off`],
  });
  let proxy: QmpProxy | undefined;
  try {
    const f = (n: string): Buffer => readFileSync(join(pki, n));
    const notices: QmpProxyNotice[] = [];
    proxy = await QmpProxy.start({
      upstream: join(dir, 'q.sock'),
      listen: [
        {
          address: '127.0.0.1:0',
          tls: { cert: f('server-cert.pem'), key: f('server-key.pem'), ca: f('ca-cert.pem'), requestCert: true },
        },
      ],
      onNotice: (n) => notices.push(n),
      ...options,
    });
    const label = proxy.addresses[0] ?? '';
    assert.match(label, /^tls:127\.0\.0\.1:\d+$/, 'the listener is named tls:HOST:PORT');
    const port = Number(label.slice(label.lastIndexOf(':') + 1));
    await body({ proxy, port, f, notices });
  } finally {
    await proxy?.close();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function ownerConnect(fx: Fixture): Promise<QmpClient> {
  return QmpClient.connect(`localhost:${fx.port}`, {
    timeoutMs: 10000,
    tls: { ca: fx.f('ca-cert.pem'), cert: fx.f('client-cert.pem'), key: fx.f('client-key.pem') },
  });
}

test(
  'sockets that close or stall before the handshake are reclaimed; the owner still gets in',
  { timeout: 60000 },
  () =>
    withTlsProxy({ handshakeTimeoutMs: 1000 }, async (fx) => {
      const n = 40;
      const socks = await Promise.all(Array.from({ length: n }, () => rawSocket(fx.port)));
      // Half hang up at once (the CLOSE-WAIT leak), half say nothing (reclaimed by the deadline).
      for (const s of socks.slice(0, n / 2)) s.end();
      await Promise.all(socks.map((s) => closed(s, 20000)));
      await until(() => fx.proxy.connectionCount === 0, 10000, 'every handshaking socket to be reclaimed');
      const qmp = await ownerConnect(fx);
      assert.equal((await qmp.execute('query-status')).status, 'running');
      assert.equal(fx.proxy.connectionCount, 1);
      await qmp.close();
    }),
);

test('handshaking sockets count against maxClients: at the limit, one past it', { timeout: 60000 }, () =>
  withTlsProxy({ maxClients: 3, reservedFullAccessClients: 0 }, async (fx) => {
    const socks = await Promise.all([0, 1].map(() => rawSocket(fx.port)));
    await until(() => fx.proxy.connectionCount === 2, 10000, 'two handshaking sockets');
    // The third connection is the last one that fits.
    const qmp = await ownerConnect(fx);
    assert.equal((await qmp.execute('query-status')).status, 'running');
    const refusedBefore = fx.notices.filter((x) => x.kind === 'client-refused').length;
    const fourth = await rawSocket(fx.port);
    await closed(fourth, 10000);
    const refused = fx.notices.filter((x) => x.kind === 'client-refused');
    assert.equal(refused.length, refusedBefore + 1);
    assert.match(refused.at(-1)?.kind === 'client-refused' ? (refused.at(-1)?.reason ?? '') : '', /maxClients/);
    for (const s of socks) s.destroy();
    await qmp.close();
  }),
);

test('close() resolves with sockets mid-handshake and closes them', { timeout: 60000 }, async () => {
  let held: Socket[] = [];
  await withTlsProxy({}, async (fx) => {
    held = await Promise.all(Array.from({ length: 5 }, () => rawSocket(fx.port)));
    await until(() => fx.proxy.connectionCount === 5, 10000, 'five handshaking sockets');
    const qmp = await ownerConnect(fx);
    const gone = Promise.all(held.map((s) => closed(s, 10000)));
    await fx.proxy.close();
    await gone;
    await qmp.closed;
  });
});

test('a client refused for its certificate gets QMP_ERR_CONNECT', { timeout: 60000 }, () =>
  withTlsProxy({}, async (fx) => {
    const isConnect = (e: unknown): boolean =>
      e instanceof QmpConnectionError && e.code === 'QMP_ERR_CONNECT' && /TLS|certificate|handshake/i.test(e.message);
    // No certificate at all.
    await assert.rejects(
      QmpClient.connect(`localhost:${fx.port}`, { timeoutMs: 10000, tls: { ca: fx.f('ca-cert.pem') } }),
      isConnect,
    );
    // A certificate signed by a CA the proxy does not trust.
    await assert.rejects(
      QmpClient.connect(`localhost:${fx.port}`, {
        timeoutMs: 10000,
        tls: { ca: fx.f('ca-cert.pem'), cert: fx.f('foreign-cert.pem'), key: fx.f('foreign-key.pem') },
      }),
      isConnect,
    );
    await until(() => fx.proxy.connectionCount === 0, 10000, 'the refused sockets to be reclaimed');
  }),
);

test('policies still apply per CN behind the limits', { timeout: 60000 }, () =>
  withTlsProxy({ policy: new QmpProxyPolicy({ clients: { owner: 'read-only' } }) }, async (fx) => {
    const qmp = await ownerConnect(fx);
    await assert.rejects(qmp.execute('stop'), /not allowed/);
    await qmp.close();
  }),
);

test('qmpkit proxy stops on SIGTERM with sockets mid-handshake', { timeout: 60000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-stls-cli-'));
  const sim = await startSimulator({
    argv: ['-machine', 'none', '-qmp', `unix:${join(dir, 'q.sock')},server=on,wait=off`],
  });
  let proxy: CliProcess | undefined;
  try {
    const port = await freePort();
    proxy = new CliProcess(QMPKIT, [
      'proxy',
      '--upstream',
      join(dir, 'q.sock'),
      '--listen',
      `tls:127.0.0.1:${port}`,
      '--tls-cert',
      join(pki, 'server-cert.pem'),
      '--tls-key',
      join(pki, 'server-key.pem'),
      '--tls-ca',
      join(pki, 'ca-cert.pem'),
      // Long deadlines: only shutdown may end these sockets.
      '--tls-handshake-timeout',
      '600000',
      '--negotiation-timeout',
      '600000',
    ]);
    await proxy.waitFor('stderr', `listening on tls:127.0.0.1:${port} for QEMU`);
    const socks = await Promise.all(Array.from({ length: 8 }, () => rawSocket(port)));
    socks[0]?.end();
    const gone = Promise.all(socks.map((s) => closed(s, 20000)));
    const done = await proxy.stop();
    assert.equal(done.code, 0, done.stderr);
    await gone;
  } finally {
    proxy?.kill();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
