// What a new user meets first: the messages and exit codes of exec, events, sim, gen and start
// against the simulator and against things that are not a QMP monitor at all.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type QmpSimulator, startSimulator } from '../../src/simulator/index.js';
import { connectRetry } from '../helpers/connect-retry.js';
import { CliProcess, QMPKIT, qmpkit } from './helpers/run-cli.js';

/** A unix socket server that accepts and then sends `banner` (or nothing at all). */
async function fakePeer(path: string, banner: string | undefined): Promise<Server> {
  const server = createServer((sock) => {
    sock.on('error', () => undefined);
    if (banner !== undefined) sock.write(banner);
  });
  await new Promise<void>((res) => server.listen(path, res));
  return server;
}

describe('first contact with the CLI', { concurrency: false }, () => {
  let sim: QmpSimulator;
  let dir = '';
  let sock = '';
  let sock2 = '';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qmpkit-first-'));
    sock = join(dir, 'qmp.sock');
    sock2 = join(dir, 'qmp2.sock');
    sim = await startSimulator({
      qmp: [`unix:${sock},server=on,wait=off`, `unix:${sock2},server=on,wait=off`],
    });
  });
  after(async () => {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the default cd-rom is ejected by device=ide1-cd0; an unknown id is DeviceNotFound', async () => {
    const ok = await qmpkit(['exec', sock, 'eject', 'device=ide1-cd0', 'force=true']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, '{}\n');
    const nope = await qmpkit(['exec', sock, 'eject', 'id=nope']);
    assert.equal(nope.code, 1);
    assert.equal(nope.stderr, "qmpkit exec: DeviceNotFound: Device 'nope' not found\n");
    assert.equal((await qmpkit(['exec', sock, 'blockdev-close-tray', 'device=ide1-cd0'])).code, 0);
  });

  test('exec --hmp with an unknown HMP command exits 1 and says so on stderr', async () => {
    const r = await qmpkit(['exec', sock, '--hmp', 'bogus']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, "qmpkit exec: unknown command: 'bogus'\n");
  });

  test('exec takes a whole shell line or a pasted JSON command as one argument', async () => {
    const line = await qmpkit(['exec', sock, 'human-monitor-command command-line="info status"']);
    assert.equal(line.code, 0, line.stderr);
    assert.equal(line.stdout, '"VM status: running\\r\\n"\n');
    const json = await qmpkit(['exec', sock, '{"execute": "query-name"}']);
    assert.equal(json.code, 0, json.stderr);
    assert.equal(json.stdout, '{}\n');
    const incomplete = await qmpkit(['exec', sock, 'device_add driver=']);
    assert.equal(incomplete.code, 1);
    assert.match(incomplete.stderr, /^qmpkit exec: GenericError: /);
    const mixed = await qmpkit(['exec', sock, 'device_add driver=e1000', 'id=n1']);
    assert.equal(mixed.code, 2);
    assert.match(mixed.stderr, /is not a command name; give the command and each key=value as separate arguments/);
  });

  test('events --count with --timeout-ms: exit 4 and how many arrived, on stderr', async () => {
    const r = await qmpkit(['events', sock2, '--name', 'RESET', '--count', '2', '--timeout-ms', '300']);
    assert.equal(r.code, 4);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, 'qmpkit events: 0 of 2 events arrived within 300 ms\n');
  });

  test('--match on the QOM path id of DEVICE_TRAY_MOVED, or on its device name', async () => {
    const ev = new CliProcess(QMPKIT, [
      'events',
      sock2,
      '--name',
      'DEVICE_TRAY_MOVED',
      '--match',
      'device=ide1-cd0',
      '--count',
      '1',
      '--timeout-ms',
      '20000',
      '-v',
    ]);
    try {
      await ev.waitFor('stderr', 'listening');
      assert.equal((await qmpkit(['exec', sock, 'eject', 'device=ide1-cd0', 'force=true'])).code, 0);
      const r = await ev.done;
      assert.equal(r.code, 0, r.stderr);
      const event = JSON.parse(r.stdout) as { data: { id: string; device: string } };
      assert.equal(event.data.device, 'ide1-cd0');
      assert.match(event.data.id, /^\/machine\//);
    } finally {
      ev.kill();
      await qmpkit(['exec', sock, 'blockdev-close-tray', 'device=ide1-cd0']);
    }
  });

  test('a directory, a regular file, an HMP monitor and a silent socket are named for what they are', async () => {
    const d = join(dir, 'a-dir');
    const f = join(dir, 'a-file');
    mkdirSync(d);
    writeFileSync(f, '');
    const rd = await qmpkit(['exec', d, 'query-status']);
    assert.equal(rd.code, 3);
    assert.match(rd.stderr, /a-dir is a directory, not a socket/);
    const rf = await qmpkit(['exec', f, 'query-status']);
    assert.equal(rf.code, 3);
    assert.match(rf.stderr, /a-file is a regular file, not a socket/);
    const hmpPath = join(dir, 'hmp.sock');
    const hmp = await fakePeer(hmpPath, "QEMU 7.2.22 monitor - type 'help' for more information\r\n(qemu) ");
    const silentPath = join(dir, 'silent.sock');
    const silent = await fakePeer(silentPath, undefined);
    try {
      const rh = await qmpkit(['exec', hmpPath, 'query-status']);
      assert.equal(rh.code, 3);
      assert.match(rh.stderr, /hmp\.sock is an HMP \(human\) monitor, not QMP: start QEMU with -qmp/);
      const rs = await qmpkit(['exec', silentPath, 'query-status', '--connect-timeout-ms', '300']);
      assert.equal(rs.code, 3);
      assert.match(
        rs.stderr,
        /No QMP greeting from \S+silent\.sock within 300 ms: another client holds this monitor \(QEMU serves one at a time\), or it is not a QMP monitor/,
      );
    } finally {
      hmp.close();
      silent.close();
    }
  });

  test('qmp-shell says the address once when it cannot connect', async () => {
    const missing = join(dir, 'missing.sock');
    const r = await qmpkit(['shell', missing], { input: '' });
    assert.equal(r.code, 3);
    assert.equal(r.stderr.split(missing).length - 1, 1, r.stderr);
    assert.match(r.stderr, /^ERROR: Couldn't connect to \S+: ENOENT/);
  });

  test('proxy errors say they come from qmpkit proxy, once', async () => {
    const missing = join(dir, 'no-qemu.sock');
    const r = await qmpkit(['proxy', '--upstream', missing, '--listen', `unix:${join(dir, 'p.sock')}`]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /^qmpkit proxy: /);
    assert.doesNotMatch(r.stderr, /qmpkit proxy: qmpkit proxy/);
    const badPolicy = join(dir, 'policy.json');
    writeFileSync(badPolicy, '{');
    const rp = await qmpkit([
      'proxy',
      '--upstream',
      sock,
      '--listen',
      `unix:${join(dir, 'p.sock')}`,
      '--policy',
      badPolicy,
    ]);
    assert.notEqual(rp.code, 0);
    assert.match(rp.stderr, /^qmpkit proxy: /);
  });

  test('qmpkit sim without a monitor is a usage error', async () => {
    const r = await qmpkit(['sim', '-machine', 'q35']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^qmpkit sim: no monitor: give -qmp/);
  });

  for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
    test(`qmpkit sim ends on ${signal} with exit 130`, async () => {
      const s = join(dir, `sig-${signal}.sock`);
      const p = new CliProcess(QMPKIT, ['sim', '-qmp', `unix:${s},server=on,wait=off`]);
      try {
        // Serving: a client gets through (then leaves, so the monitor is free again).
        await (await connectRetry(s)).close();
        const r = await p.stop(signal);
        assert.equal(r.code, 130, r.stderr);
      } finally {
        p.kill();
      }
    });

    test(`qmpkit start removes its socket directory on ${signal}`, async () => {
      const p = new CliProcess(QMPKIT, ['start', '--no-history']);
      try {
        await p.waitFor('stderr', 'Ctrl-D exits');
        const m = /Simulated QEMU on unix:(\S+)\/qmp\.sock/.exec(p.stderr);
        assert.ok(m?.[1] !== undefined, p.stderr);
        assert.ok(existsSync(m[1]));
        const r = await p.stop(signal);
        assert.equal(r.code, 130, r.stderr);
        assert.equal(existsSync(m[1]), false);
      } finally {
        p.kill();
      }
    });
  }

  test('the npm start banner offers a second monitor that works while the shell holds the first', async () => {
    const p = new CliProcess(QMPKIT, ['start', '--no-history']);
    try {
      await p.waitFor('stderr', 'Ctrl-D exits');
      assert.doesNotMatch(p.stderr, /id=ide1-cd0/);
      assert.match(p.stderr, /eject device=ide1-cd0/);
      const m = /another terminal: npx qmp-shell (\S+)/.exec(p.stderr);
      assert.ok(m?.[1] !== undefined, p.stderr);
      const r = await qmpkit(['exec', m[1], 'query-status', '--connect-timeout-ms', '5000']);
      assert.equal(r.code, 0, r.stderr);
    } finally {
      await p.stop();
    }
  });

  test('gen -o creates the directory it writes into', async () => {
    const schema = resolve(import.meta.dirname, '../../../data/qmp-schema-7.2.json');
    const out = join(dir, 'gen', 'nested', 'qapi.ts');
    const r = await qmpkit(['gen', '--from-schema', schema, '-o', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(readFileSync(out, 'utf8'), /export interface/);
  });
});
