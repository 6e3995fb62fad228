// connectTransport against local servers: every address form, the errors that name the address
// (ENOENT, ECONNREFUSED, EACCES), the connect deadline and AbortSignal.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { QmpAbortedError, QmpConnectionError, QmpTimeoutError, QmpUsageError } from '../../src/errors/index.js';
import { connectTransport } from '../../src/transport/connect.js';

function listen(server: Server, ...args: unknown[]): Promise<void> {
  return new Promise((r) => server.listen(...(args as [string]), () => r()));
}

/** A server that accepts, records each connection and says nothing. */
async function silentServer(where: string | number): Promise<{ server: Server; accepted: Promise<Socket> }> {
  const server = createServer();
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  if (typeof where === 'string') await listen(server, where);
  else await listen(server, where, '127.0.0.1');
  return { server, accepted };
}

// Taken before any test mocks setTimeout: a deadline that still runs while the clock is mocked.
const realSetTimeout = setTimeout;
const realClearTimeout = clearTimeout;
function realDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_r, reject) => {
    timer = realSetTimeout(() => reject(new Error(`${what}: not settled within ${ms} ms`)), ms);
  });
  return Promise.race([p, limit]).finally(() => realClearTimeout(timer));
}

function closeServer(server: Server): Promise<void> {
  return new Promise((r) => server.close(() => r()));
}

test('unix: a bare path, unix:PATH and unix:PATH,server=on,wait=off all connect', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-conn-'));
  try {
    const path = join(dir, 'qmp.sock');
    const server = createServer((s) => s.end('hi\n'));
    await listen(server, path);
    for (const target of [path, `unix:${path}`, `unix:${path},server=on,wait=off`, `unix:${path},server,nowait`]) {
      const t = await connectTransport(target, { timeoutMs: 2000 });
      assert.equal(t.label, target);
      assert.equal(t.outstanding, undefined);
      const got = await new Promise<string>((r) => {
        let text = '';
        t.stream.setEncoding('utf8');
        t.stream.on('data', (d: string) => {
          text += d;
        });
        t.stream.on('end', () => r(text));
      });
      assert.equal(got, 'hi\n');
      t.stream.destroy();
    }
    await closeServer(server);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tcp: host:port, tcp:HOST:PORT and tcp:HOST:PORT,server=on,wait=off all connect', async () => {
  const server = createServer((s) => s.end());
  await listen(server, 0, '127.0.0.1');
  const port = (server.address() as { port: number }).port;
  try {
    for (const target of [
      `127.0.0.1:${port}`,
      `tcp:127.0.0.1:${port}`,
      `tcp:127.0.0.1:${port},server=on,wait=off`,
      { kind: 'tcp', host: '127.0.0.1', port, options: {} } as const,
    ]) {
      const t = await connectTransport(target, { timeoutMs: 2000 });
      assert.equal(t.label, typeof target === 'string' ? target : `tcp:127.0.0.1:${port}`);
      t.stream.destroy();
    }
  } finally {
    await closeServer(server);
  }
});

test('a connected Duplex is used as is', async () => {
  const stream = new PassThrough();
  const t = await connectTransport(stream);
  assert.equal(t.stream, stream);
  assert.equal(t.label, 'stream');
});

test('ENOENT and ECONNREFUSED reject with QMP_ERR_CONNECT naming the address', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-conn-'));
  try {
    const path = join(dir, 'missing.sock');
    await assert.rejects(connectTransport(path, { timeoutMs: 2000 }), (e: unknown) => {
      assert.ok(e instanceof QmpConnectionError);
      assert.equal(e.code, 'QMP_ERR_CONNECT');
      assert.equal(e.syscallCode, 'ENOENT');
      assert.equal(e.address, path);
      assert.match(e.message, new RegExp(`Cannot connect to ${path}: ENOENT: no such socket`));
      return true;
    });
    const s = createServer();
    await listen(s, 0, '127.0.0.1');
    const port = (s.address() as { port: number }).port;
    await closeServer(s);
    await assert.rejects(connectTransport(`tcp:127.0.0.1:${port}`, { timeoutMs: 2000 }), (e: unknown) => {
      assert.ok(e instanceof QmpConnectionError);
      assert.equal(e.syscallCode, 'ECONNREFUSED');
      assert.match(e.message, new RegExp(`tcp:127\\.0\\.0\\.1:${port}: ECONNREFUSED: connection refused`));
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('EACCES on a socket the user may not open rejects naming the address', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-conn-'));
  const path = join(dir, 'qmp.sock');
  const server = createServer((s) => s.destroy());
  try {
    await listen(server, path);
    chmodSync(path, 0o000);
    let code: string;
    let message: string;
    if (process.getuid?.() === 0) {
      // Root ignores file modes: try from an unprivileged child process (nobody), with this build.
      chmodSync(dir, 0o755);
      const here = dirname(fileURLToPath(import.meta.url));
      const mod = pathToFileURL(resolve(here, '../../src/transport/connect.js')).href;
      const script = `import { connectTransport } from ${JSON.stringify(mod)};
        try { await connectTransport(${JSON.stringify(path)}, { timeoutMs: 2000 }); console.log('{}'); }
        catch (e) { console.log(JSON.stringify({ code: e.syscallCode, qcode: e.code, message: e.message })); }`;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        uid: 65534,
        gid: 65534,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        err += d;
      });
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
      });
      await new Promise((r) => child.once('close', r));
      if (out.trim() === '') {
        // The unprivileged child cannot read this checkout (e.g. a clone in a 0700 directory).
        const why = /Error[^\n]*/.exec(err)?.[0] ?? 'no output';
        t.skip(`running as root, and user nobody cannot load the build to try the connect (${why})`);
        return;
      }
      const r = JSON.parse(out) as { code?: string; qcode?: string; message?: string };
      assert.equal(r.qcode, 'QMP_ERR_CONNECT');
      code = r.code ?? '';
      message = r.message ?? '';
    } else {
      const e = await connectTransport(path, { timeoutMs: 2000 }).then(
        () => assert.fail('connected'),
        (err: unknown) => err as QmpConnectionError,
      );
      code = e.syscallCode ?? '';
      message = e.message;
    }
    assert.equal(code, 'EACCES');
    assert.equal(
      message,
      `Cannot connect to ${path}: EACCES: permission denied (check the socket file and its directory permissions)`,
    );
  } finally {
    await closeServer(server);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('connect deadline: a TLS peer that never answers the handshake gives QMP_ERR_CONNECT_TIMEOUT, not a millisecond early', async (t) => {
  const { server, accepted } = await silentServer(0);
  const port = (server.address() as { port: number }).port;
  try {
    // The deadline runs on a mocked clock (the sockets are real): checked at its edge, not measured.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let outcome: unknown;
    const seen = (): unknown => outcome;
    const settled = connectTransport(`127.0.0.1:${port}`, { tls: true, timeoutMs: 150 }).then(
      (tr) => {
        outcome = 'connected';
        tr.stream.destroy();
      },
      (e: unknown) => (outcome = e),
    );
    const peer = await realDeadline(accepted, 10_000, 'the TCP connection');
    const turns = async (): Promise<void> => {
      for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
    };
    await turns();
    t.mock.timers.tick(149);
    await turns();
    assert.equal(seen(), undefined, 'still waiting 1 ms before the deadline');
    t.mock.timers.tick(1);
    await turns();
    t.mock.timers.reset();
    await settled;
    const e = seen();
    assert.ok(e instanceof QmpTimeoutError, String(e));
    assert.equal(e.code, 'QMP_ERR_CONNECT_TIMEOUT');
    assert.equal(e.timeoutMs, 150);
    assert.match(e.message, new RegExp(`127\\.0\\.0\\.1:${port} timed out after 150 ms`));
    // The abandoned socket is closed, not leaked.
    // Reading is what lets the peer see the end of the connection.
    peer.resume();
    await realDeadline(
      new Promise((r) => (peer.closed ? r(undefined) : peer.once('close', r))),
      10_000,
      'the abandoned socket closing',
    );
  } finally {
    await closeServer(server);
  }
});

test('AbortSignal: before and during connecting gives QMP_ERR_ABORTED', async () => {
  await assert.rejects(connectTransport('/nonexistent.sock', { signal: AbortSignal.abort() }), QmpAbortedError);
  const { server, accepted } = await silentServer(0);
  const port = (server.address() as { port: number }).port;
  try {
    const ac = new AbortController();
    const p = connectTransport(`127.0.0.1:${port}`, { tls: true, timeoutMs: 5000, signal: ac.signal });
    const peer = await accepted;
    ac.abort();
    await assert.rejects(p, (e: unknown) => e instanceof QmpAbortedError && e.code === 'QMP_ERR_ABORTED');
    peer.resume();
    await new Promise((r) => (peer.closed ? r(undefined) : peer.once('close', r)));
  } finally {
    await closeServer(server);
  }
});

test('usage errors: TLS over unix, stdio, malformed addresses', async () => {
  await assert.rejects(connectTransport('/tmp/x.sock', { tls: true }), QmpUsageError);
  await assert.rejects(connectTransport('stdio'), QmpUsageError);
  await assert.rejects(connectTransport('tcp:localhost'), QmpUsageError);
  await assert.rejects(connectTransport('tcp:localhost:99999'), QmpUsageError);
});
