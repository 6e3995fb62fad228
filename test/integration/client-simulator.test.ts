// The client's integration checks against the simulated QEMU (no QEMU needed), plus the simulator's
// own features: I/O error injection, the classic QMP examples, and `qmpkit sim` as a process.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { QmpClient } from '../../src/client/index.js';
import { QmpCommandError, QmpConnectionError } from '../../src/errors/index.js';
import { startSimulator } from '../../src/simulator/index.js';
import { PROJECT_ROOT } from '../helpers/golden.js';

async function withSim(argv: string[], fn: (sock: string, dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-simc-'));
  const sock = join(dir, 'qmp.sock');
  const sim = await startSimulator({ argv: [...argv, '-qmp', `unix:${sock},server=on,wait=off`] });
  try {
    await fn(sock, dir);
  } finally {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('client vs simulator: negotiation, 1,000 pipelined, stop/cont events, big integers, schema', async () => {
  await withSim([], async (sock) => {
    const qmp = await QmpClient.connect(sock, { timeoutMs: 5000 });
    assert.equal(qmp.greeting.QMP.version.qemu.minor, 2);
    assert.ok(qmp.oobEnabled);
    const results = await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        i % 2 === 0 ? qmp.execute('query-status') : qmp.execute('migrate-set-parameters', { 'downtime-limit': i }),
      ),
    );
    assert.equal(results.length, 1000);
    assert.equal((await qmp.execute('query-migrate-parameters'))['downtime-limit'], 999);
    const stopped = qmp.waitForEvent('STOP', { timeoutMs: 2000 });
    await qmp.execute('stop');
    await stopped;
    assert.equal((await qmp.execute('query-status')).status, 'paused');
    const it = qmp.events({ names: ['RESUME'] });
    await qmp.execute('cont');
    for await (const e of it) {
      assert.equal(e.event, 'RESUME');
      break;
    }
    await qmp.execute('migrate-set-parameters', { 'max-bandwidth': 9007199254740993n });
    assert.equal((await qmp.execute('query-migrate-parameters'))['max-bandwidth'], 9007199254740993n);
    const schema = await qmp.execute('query-qmp-schema');
    const ref = JSON.parse(readFileSync(resolve(PROJECT_ROOT, 'data/qmp-schema-7.2.json'), 'utf8')) as {
      return: unknown[];
    };
    assert.deepEqual(schema, ref.return);
    await qmp.close();
  });
});

test('the classic QMP examples: eject of ide1-cd0, query-status, query-commands, device_add e1000', async () => {
  await withSim([], async (sock) => {
    const qmp = await QmpClient.connect(sock, { timeoutMs: 5000 });
    assert.deepEqual(await qmp.execute('eject', { device: 'ide1-cd0' }), {});
    assert.deepEqual(await qmp.execute('query-status'), { status: 'running', singlestep: false, running: true });
    assert.equal((await qmp.execute('query-commands')).length, 216);
    assert.deepEqual(await qmp.executeRaw('device_add', { driver: 'e1000', id: 'net1' }), {});
    await assert.rejects(qmp.executeRaw('device_add', { driver: 'e1000', id: 'net1' }), (e: unknown) => {
      assert.ok(e instanceof QmpCommandError);
      assert.equal(e.desc, "Duplicate device ID 'net1'");
      return true;
    });
    await qmp.close();
  });
});

test('an injected I/O error with action stop emits BLOCK_IO_ERROR and pauses the VM; cont resumes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-simio-'));
  const img = join(dir, 'disk.img');
  writeFileSync(img, Buffer.alloc(65536));
  try {
    await withSim(['-sim-debug-commands', '-drive', `if=ide,id=ide0-hd1,file=${img},format=raw`], async (sock) => {
      const qmp = await QmpClient.connect(sock, { timeoutMs: 5000 });
      const ioerr = qmp.waitForEvent('BLOCK_IO_ERROR', { timeoutMs: 2000 });
      const stop = qmp.waitForEvent('STOP', { timeoutMs: 2000 });
      await qmp.executeRaw('x-sim-inject-io-error', { device: 'ide0-hd1', action: 'stop' });
      const ev = await ioerr;
      assert.equal(ev.data?.device, 'ide0-hd1');
      assert.equal(ev.data?.action, 'stop');
      assert.equal(ev.data?.operation, 'write');
      await stop;
      assert.equal((await qmp.execute('query-status')).status, 'io-error');
      const blk = (await qmp.execute('query-block')).find((b) => b.device === 'ide0-hd1');
      assert.equal(blk?.['io-status'], 'failed');
      await qmp.execute('cont');
      assert.equal((await qmp.execute('query-status')).status, 'running');
      await qmp.close();
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('qmpkit sim -readconfig with [chardev] and [mon] sections, pretty output, and quit ends the process', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-simp-'));
  const sock = join(dir, 'qmp.sock');
  const conf = join(dir, 'qemu-qmp.conf');
  writeFileSync(
    conf,
    `[chardev "qmp"]\n  backend = "socket"\n  path = "${sock}"\n  server = "on"\n  wait = "off"\n[mon "qmp"]\n  mode = "control"\n  chardev = "qmp"\n  pretty = "on"\n`,
  );
  const bin = resolve(PROJECT_ROOT, 'dist/src/cli/qmpkit.js');
  const proc = spawn(process.execPath, [bin, 'sim', '-readconfig', conf, '-name', 'vm1'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  try {
    let qmp: QmpClient | undefined;
    const deadline = Date.now() + 10000;
    while (!qmp) {
      try {
        qmp = await QmpClient.connect(sock, { timeoutMs: 2000 });
      } catch (e) {
        if (!(e instanceof QmpConnectionError) || Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 30));
      }
    }
    assert.deepEqual(await qmp.execute('query-name'), { name: 'vm1' });
    assert.deepEqual(await qmp.execute('quit'), {});
    assert.equal(await exited, 0);
  } finally {
    proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('qmpkit sim refuses unknown options with a clear message and exit code 2', async () => {
  const bin = resolve(PROJECT_ROOT, 'dist/src/cli/qmpkit.js');
  const proc = spawn(process.execPath, [bin, 'sim', '-bogus'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const code = await new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
  assert.equal(code, 2);
  assert.match(err, /-bogus: invalid option/);
});
