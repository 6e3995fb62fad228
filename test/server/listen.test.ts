// Monitors on real sockets: unix (mode 0600, stale file, cleanup), tcp (exact host), stdio, one
// client at a time with waiting clients, several monitors per server.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Duplex } from 'node:stream';
import { after, describe, test } from 'node:test';
import { MAX_WAITING_CLIENTS } from '../../src/limits.js';
import { QmpServer } from '../../src/server/index.js';
import { listenTransport } from '../../src/transport/index.js';
import { nextEvent, RawClient, withDeadline } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'qmpkit-listen-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const sockPath = (): string => join(tmp, `m${++n}.sock`);

async function dial(target: string | { host: string; port: number }): Promise<RawClient> {
  const sock: Socket =
    typeof target === 'string'
      ? connect({ path: target, allowHalfOpen: true })
      : connect({ ...target, allowHalfOpen: true });
  await withDeadline(
    new Promise<void>((res, rej) => {
      sock.once('connect', res);
      sock.once('error', rej);
    }),
    5000,
    'connect',
  );
  return new RawClient(sock);
}

function server(): QmpServer {
  const s = new QmpServer();
  s.register('query-name', (_a, ctx) => ({ name: ctx.session.label }));
  return s;
}

/** Leaves a unix socket file behind with nobody listening (a process killed without cleanup). */
async function staleSocket(path: string): Promise<void> {
  const child = spawn(process.execPath, [
    '-e',
    `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`,
  ]);
  await withDeadline(nextEvent(child, 'exit'), 10_000, 'stale socket child');
  assert.ok(statSync(path).isSocket());
}

describe('unix sockets', () => {
  test('created with mode 0600, served, and removed on close', async () => {
    const path = sockPath();
    const s = server();
    const m = await s.listen(`unix:${path},server=on,wait=off`);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(m.address.kind, 'unix');
    const first = m.waitForClient();
    const c = await dial(path);
    assert.equal((await withDeadline(first, 5000, 'first client')).label, `unix:${path},server=on,wait=off#1`);
    assert.match(await c.next(), /^\{"QMP": /);
    assert.equal(await c.ask('{"execute":"qmp_capabilities"}'), '{"return": {}}');
    assert.equal(await c.ask('{"execute":"query-name"}'), `{"return": {"name": "unix:${path},server=on,wait=off#1"}}`);
    await s.close();
    await c.waitEnd();
    assert.equal(existsSync(path), false);
  });

  test('a stale socket file is replaced; a live one or a regular file is refused and left alone', async () => {
    const stale = sockPath();
    await staleSocket(stale);
    const s = server();
    await s.listen(`unix:${stale},server,nowait`);
    const c = await dial(stale);
    assert.match(await c.next(), /^\{"QMP": /);

    await assert.rejects(s.listen(`unix:${stale},server=on,wait=off`), {
      code: 'QMP_ERR_CONNECT',
      syscallCode: 'EADDRINUSE',
    });
    assert.equal(await c.ask('{"execute":"qmp_capabilities"}'), '{"return": {}}', 'the live monitor still works');

    const file = join(tmp, 'regular-file');
    writeFileSync(file, 'keep me');
    await assert.rejects(s.listen(`unix:${file}`), { code: 'QMP_ERR_CONNECT' });
    assert.equal(readFileSync(file, 'utf8'), 'keep me');
    await s.close();
  });
});

describe('listenTransport', () => {
  test('close() stops listening at once and leaves accepted connections open', async () => {
    const path = sockPath();
    const accepted: Duplex[] = [];
    const t = await listenTransport(`unix:${path}`, { onConnection: (d) => accepted.push(d) });
    const c = await dial(path);
    await withDeadline(
      (async () => {
        while (accepted.length < 1) await new Promise<void>((r) => setImmediate(r));
      })(),
      5000,
      'accept',
    );
    await withDeadline(t.close(), 5000, 'listener close');
    assert.equal(existsSync(path), false);
    assert.equal(t.server?.listening, false);
    accepted[0]?.resume();
    accepted[0]?.write('still here\r\n');
    assert.equal(await c.next(), 'still here');
    c.stream.destroy();
    accepted[0]?.destroy();
  });
});

describe('tcp', () => {
  test('binds exactly the host given, reports the real port for port 0', async () => {
    const s = server();
    const m = await s.listen('tcp:127.0.0.1:0,server=on,wait=off');
    assert.equal(m.address.kind, 'tcp');
    const port = m.address.kind === 'tcp' ? m.address.port : 0;
    assert.ok(port > 0);
    const t = await listenTransport(`tcp:127.0.0.1:0`, { onConnection: (d) => d.destroy() });
    const bound = t.server?.address();
    assert.ok(bound !== null && typeof bound === 'object');
    assert.equal(bound.address, '127.0.0.1');
    await t.close();
    const c = await dial({ host: '127.0.0.1', port });
    assert.match(await c.next(), /^\{"QMP": /);
    await s.close();
  });
});

describe('one client per monitor', () => {
  test('a second client waits ungreeted; its early request is answered once the first leaves (conformance 22)', async () => {
    const path = sockPath();
    const s = server();
    const m = await s.listen(`unix:${path},server=on,wait=off`);
    const c1 = await dial(path);
    await c1.next();
    assert.equal(await c1.ask('{"execute":"qmp_capabilities"}'), '{"return": {}}');
    const c2 = await dial(path);
    c2.send('{"execute":"qmp_capabilities"}\n');
    await withDeadline(
      (async () => {
        while (m.waitingClients < 1) await new Promise<void>((r) => setImmediate(r));
      })(),
      5000,
      'second client waiting',
    );
    assert.equal(
      await c1.ask('{"execute":"query-name","id":1}'),
      `{"return": {"name": "unix:${path},server=on,wait=off#1"}, "id": 1}`,
    );
    assert.deepEqual(c2.lines, []);
    c1.stream.destroy();
    assert.match(await c2.next(), /^\{"QMP": /);
    assert.equal(await c2.next(), '{"return": {}}');
    // Negotiation state belongs to the connection: a third client starts in negotiation mode.
    c2.stream.destroy();
    const c3 = await dial(path);
    await c3.next();
    assert.match(await c3.ask('{"execute":"query-name"}'), /Expecting capabilities negotiation/);
    await s.close();
  });

  test(`at most maxWaitingClients wait; one more is disconnected (default ${MAX_WAITING_CLIENTS})`, async () => {
    const path = sockPath();
    const s = new QmpServer({ maxWaitingClients: 2 });
    const m = await s.listen(`unix:${path}`);
    const c1 = await dial(path);
    await c1.next();
    const w1 = await dial(path);
    const w2 = await dial(path);
    await withDeadline(
      (async () => {
        while (m.waitingClients < 2) await new Promise<void>((r) => setImmediate(r));
      })(),
      5000,
      'two waiting',
    );
    const w3 = await dial(path);
    await w3.waitEnd();
    assert.deepEqual(w3.lines, []);
    assert.equal(m.waitingClients, 2);
    c1.stream.destroy();
    assert.match(await w1.next(), /^\{"QMP": /);
    w1.stream.destroy();
    assert.match(await w2.next(), /^\{"QMP": /);
    await s.close();
  });

  test('several monitors serve clients at once; events reach all of them', async () => {
    const s = server();
    const p1 = sockPath();
    const p2 = sockPath();
    await s.listen(`unix:${p1}`);
    await s.listen(`unix:${p2}`, { pretty: true });
    assert.equal(s.monitors.length, 2);
    const a = await dial(p1);
    const b = await dial(p2);
    await a.next();
    // The pretty greeting is 15 lines.
    await b.waitLines(15);
    assert.equal(await a.ask('{"execute":"qmp_capabilities"}'), '{"return": {}}');
    b.send('{"execute":"qmp_capabilities"}\n');
    await b.waitLines(19);
    assert.deepEqual(b.lines.slice(15), ['{', '    "return": {', '    }', '}']);
    s.emit('STOP');
    assert.match(await a.next(), /"event": "STOP"/);
    await b.waitLines(26);
    assert.equal(b.lines[24], '    "event": "STOP"');
    await s.close();
    assert.equal(s.monitors.length, 0);
  });
});

describe('stdio', () => {
  test('serves one client on stdin/stdout and exits when stdin ends', async () => {
    const script = resolve(import.meta.dirname, 'fixtures/stdio-server.js');
    const child = spawn(process.execPath, [script, 'stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = nextEvent(child, 'exit', 10_000);
    let out = '';
    child.stdout.setEncoding('latin1');
    child.stdout.on('data', (d: string) => {
      out += d;
    });
    child.stdin.write('{"execute":"qmp_capabilities"}\n{"execute":"query-name","id":1}\n');
    child.stdin.end();
    const [code] = await exited;
    assert.equal(code, 0);
    assert.equal(
      out,
      '{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": ""}, "capabilities": ["oob"]}}\r\n' +
        '{"return": {}}\r\n{"return": {"name": "stdio"}, "id": 1}\r\n',
    );
  });
});
