// Accept mode: QEMU 7.2 started with `-qmp unix:PATH` / `-qmp tcp:HOST:PORT` (no server=on) dials in.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { QmpClient } from '../../src/client/index.js';
import { QmpError } from '../../src/errors/index.js';
import { MACHINES, QEMU_BINARY, requireQemu } from '../helpers/qemu.js';
import { deadline } from '../helpers/strays.js';

const LIMIT_MS = 20_000;

/** QEMU dialing `qmp`; always killed and awaited by the caller's `stop()`. */
function qemuDialing(qmp: string): { stop(): Promise<void> } {
  const p = spawn(QEMU_BINARY, [...MACHINES.none, '-qmp', qmp], { stdio: 'ignore' });
  const exited = new Promise<void>((r) => {
    p.once('exit', () => r());
    p.once('error', () => r());
  });
  return {
    stop: async () => {
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
      await exited;
    },
  };
}

async function errorOf(p: Promise<unknown>): Promise<QmpError> {
  const r = await deadline(
    p.then(
      () => undefined,
      (e: unknown) => e,
    ),
    LIMIT_MS,
    'accept',
  );
  assert.ok(r instanceof QmpError, `expected a QmpError, got ${String(r)}`);
  return r;
}

test('unix: QEMU dials in; the socket is 0600 and removed on close', async (t) => {
  if (!requireQemu(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-accept-'));
  const path = join(dir, 'qmp.sock');
  const listener = await QmpClient.listen(path);
  const qemu = qemuDialing(`unix:${path}`);
  try {
    const st = lstatSync(path);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600);
    assert.ok(listener.address.kind === 'unix' && listener.address.path === path);
    const client = await listener.accept({ timeoutMs: LIMIT_MS });
    assert.equal(client.greeting.QMP.version.qemu.major, 7);
    assert.equal(client.state, 'ready');
    assert.equal((await client.execute('query-status')).status, 'running');
    await listener.close();
    assert.equal(existsSync(path), false, 'the socket file is removed');
    assert.equal((await client.execute('query-name')).name, undefined, 'the accepted client stays connected');
    await client.close();
  } finally {
    await listener.close();
    await qemu.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tcp: port 0 is replaced by the real port, and QEMU dials it', async (t) => {
  if (!requireQemu(t)) return;
  const listener = await QmpClient.listen('tcp:127.0.0.1:0');
  const addr = listener.address;
  assert.ok(addr.kind === 'tcp' && addr.port > 0);
  const qemu = qemuDialing(`tcp:127.0.0.1:${addr.kind === 'tcp' ? addr.port : 0}`);
  try {
    const client = await listener.accept({ timeoutMs: LIMIT_MS });
    assert.equal((await client.execute('query-status')).status, 'running');
    await client.execute('quit');
    assert.equal(await client.closed, undefined);
  } finally {
    await listener.close();
    await qemu.stop();
  }
});

test('accept without a peer: times out (QMP_ERR_CONNECT_TIMEOUT), aborts, and close() rejects waiting accepts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-accept-'));
  const path = join(dir, 'qmp.sock');
  const listener = await QmpClient.listen(`unix:${path}`);
  try {
    assert.equal((await errorOf(listener.accept({ timeoutMs: 1 }))).code, 'QMP_ERR_CONNECT_TIMEOUT');
    const ac = new AbortController();
    const aborted = listener.accept({ signal: ac.signal });
    ac.abort();
    assert.equal((await errorOf(aborted)).code, 'QMP_ERR_ABORTED');
    const waiting = listener.accept({ timeoutMs: Number.POSITIVE_INFINITY });
    await listener.close();
    assert.equal((await errorOf(waiting)).code, 'QMP_ERR_CLOSED');
    assert.equal((await errorOf(listener.accept())).code, 'QMP_ERR_CLOSED');
    assert.equal(existsSync(path), false, 'the socket file is removed');
  } finally {
    await listener.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A peer that greets and answers every request with an empty return. */
function fakeQemu(sock: Socket): void {
  sock.setEncoding('utf8');
  sock.on('data', (d: string) => {
    for (const line of d.split('\n').filter((l) => l.trim() !== '')) {
      const id = (JSON.parse(line) as { id?: unknown }).id;
      sock.write(`${JSON.stringify({ return: {}, id })}\r\n`);
    }
  });
  sock.write(
    '{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, "capabilities": ["oob"]}}\r\n',
  );
}

test('maxQueuedConnections 1: one peer waits for the next accept, one more is closed at once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-accept-'));
  const path = join(dir, 'qmp.sock');
  const listener = await QmpClient.listen(path, { maxQueuedConnections: 1 });
  const peers: Socket[] = [];
  try {
    const open = (): Promise<Socket> =>
      new Promise((resolve, reject) => {
        const s = connect(path, () => resolve(s));
        s.once('error', reject);
        peers.push(s);
      });
    const first = await open();
    first.on('error', () => {});
    // The listener sees connections in order: the first is queued before the second arrives.
    const second = await open();
    second.on('error', () => {});
    await deadline(new Promise((r) => second.once('close', r)), LIMIT_MS, 'the second peer is closed');
    fakeQemu(first);
    const client = await listener.accept({ timeoutMs: LIMIT_MS });
    assert.equal(client.state, 'ready');
    assert.equal(listener.queued, 0);
    await client.close();
  } finally {
    for (const p of peers) p.destroy();
    await listener.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('listen refuses stdio and a path that is not a socket', async () => {
  await assert.rejects(QmpClient.listen('stdio'), { code: 'QMP_ERR_USAGE' });
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-accept-'));
  try {
    await assert.rejects(QmpClient.listen(dir), { code: 'QMP_ERR_CONNECT' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
