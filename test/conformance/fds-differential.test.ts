// The simulator against real QEMU 7.2 on descriptors passed with SCM_RIGHTS: the same requests, with
// the same descriptors, give the same replies (descriptor numbers aside: each process numbers its
// own). Named descriptors, fd sets with the lowest free id, opaque strings, the access-mode match of
// /dev/fdset/N for blockdev-add, remove-fd while running and while paused, a set sent ahead of its
// command (with a lone space, as some clients do), and what a reconnecting client finds.
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { QmpClient } from '../../src/client/index.js';
import { QmpCommandError } from '../../src/errors/index.js';
import { startSimulator } from '../../src/simulator/index.js';
import type { QmpFdAddon } from '../../src/transport/fd-addon.js';
import { assertNoFdLeak, openFds, requireFdAddon } from '../helpers/fds.js';
import { requireQemu, startQemu } from '../helpers/qemu.js';

interface Target {
  readonly socketPath: string;
  stop(): Promise<void>;
}

async function qemuTarget(paused: boolean): Promise<Target> {
  const q = await startQemu({ paused });
  return { socketPath: q.socketPath, stop: () => q.stop() };
}

async function simTarget(paused: boolean, dir: string): Promise<Target> {
  const socketPath = join(dir, `sim-${paused ? 'paused' : 'running'}.sock`);
  const sim = await startSimulator({
    argv: ['-machine', 'none', ...(paused ? ['-S'] : []), '-qmp', `unix:${socketPath},server=on,wait=off`],
  });
  return { socketPath, stop: () => sim.close() };
}

/** One line per request: the reply or the error, descriptor numbers replaced by N. */
async function transcript(target: Target, rw: number, ro: number): Promise<string[]> {
  const lines: string[] = [];
  const qmp = await QmpClient.connect(target.socketPath, { timeoutMs: 10_000 });
  const run = async (command: string, args?: Record<string, unknown>, fds?: number[]): Promise<void> => {
    let out: string;
    try {
      out = `=> ${JSON.stringify(await qmp.execute(command as 'query-status', args as undefined, fds === undefined ? {} : { fds }))}`;
    } catch (e) {
      assert.ok(e instanceof QmpCommandError, String(e));
      out = `!! ${e.errorClass} ${e.desc}`;
    }
    lines.push(`${command} ${JSON.stringify(args ?? {})} ${out.replace(/"fd":\d+/g, '"fd":N')}`);
  };
  await run('add-fd', {}, [rw]);
  await run('add-fd', { 'fdset-id': 0, opaque: 'x' }, [ro]);
  await run('add-fd', { 'fdset-id': 5 }, [ro]);
  await run('add-fd', { 'fdset-id': 3 }, [ro]);
  await run('add-fd', { 'fdset-id': -1 }, [ro]);
  await run('add-fd', {}, [ro]);
  await run('add-fd', {});
  await run('query-fdsets');
  await run('blockdev-add', { driver: 'file', filename: '/dev/fdset/0', 'node-name': 'f0' });
  await run('blockdev-add', { driver: 'file', filename: '/dev/fdset/0', 'node-name': 'f1', 'read-only': true });
  await run('blockdev-add', { driver: 'file', filename: '/dev/fdset/5', 'node-name': 'f5' });
  await run('blockdev-add', { driver: 'file', filename: '/dev/fdset/9', 'node-name': 'f9' });
  await run('blockdev-add', { driver: 'file', filename: '/dev/fdset/x', 'node-name': 'fx' });
  const nodes = (await qmp.execute('query-named-block-nodes')) as unknown as Array<Record<string, unknown>>;
  lines.push(JSON.stringify(nodes.map((n) => [n['node-name'], n['file'], n['ro'], n['image'] !== undefined])));
  await run('remove-fd', { 'fdset-id': 0, fd: 99_999 });
  await run('remove-fd', { 'fdset-id': 7 });
  await run('remove-fd', { 'fdset-id': 5 });
  await run('query-fdsets');
  await run('blockdev-del', { 'node-name': 'f1' });
  await run('remove-fd', { 'fdset-id': 0 });
  await run('query-fdsets');
  await run('blockdev-del', { 'node-name': 'f0' });
  await run('query-fdsets');
  // A format node over an inline file node: QEMU makes the child anonymous and drops it with its parent.
  await run('add-fd', { 'fdset-id': 8 }, [rw]);
  await run('blockdev-add', {
    'node-name': 'disk8',
    driver: 'raw',
    file: { driver: 'file', filename: '/dev/fdset/8' },
  });
  const inline = (await qmp.execute('query-named-block-nodes')) as unknown as Array<Record<string, unknown>>;
  lines.push(JSON.stringify(inline.map((n) => [String(n['node-name']).replace(/\d+/, 'N'), n['drv'], n['file']])));
  await run('remove-fd', { 'fdset-id': 8 });
  await run('query-fdsets');
  await run('blockdev-del', { 'node-name': 'disk8' });
  await run('query-fdsets');
  await run('getfd', { fdname: '1abc' }, [ro]);
  await run('getfd', { fdname: 'a' }, [ro, rw]);
  await run('getfd', { fdname: 'a' }, [rw]);
  await run('closefd', { fdname: 'a' });
  await run('closefd', { fdname: 'a' });
  // A set sent with a command that does not take it waits for the next one that does.
  await run('query-name', {}, [rw]);
  await run('getfd', { fdname: 'b' });
  await run('getfd', { fdname: 'c' });
  await run('closefd', { fdname: 'b' });
  await qmp.close();
  const again = await QmpClient.connect(target.socketPath, { timeoutMs: 10_000 });
  lines.push(`after reconnect: ${JSON.stringify(await again.execute('query-fdsets')).replace(/"fd":\d+/g, '"fd":N')}`);
  await again.close();
  return lines;
}

/** Sends a lone space carrying `fd`, then a getfd without descriptors, on a raw connection. */
async function spaceThenGetfd(addon: QmpFdAddon, path: string, fd: number): Promise<string> {
  const sock: Socket = connect(path);
  let text = '';
  sock.setEncoding('utf8');
  sock.on('data', (d: string) => {
    text += d;
  });
  const lines = async (n: number): Promise<void> => {
    const until = Date.now() + 10_000;
    while (text.split('\r\n').length - 1 < n) {
      if (Date.now() > until) throw new Error(`no reply within 10 s; got ${JSON.stringify(text)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  try {
    await lines(1);
    sock.write('{"execute":"qmp_capabilities"}\n');
    await lines(2);
    const handle = (sock as unknown as { _handle: { fd: number } })._handle;
    assert.equal(addon.sendWithFds(handle.fd, Buffer.from(' '), [fd]), 1);
    sock.write('{"execute":"getfd","arguments":{"fdname":"sp"}}\n{"execute":"closefd","arguments":{"fdname":"sp"}}\n');
    await lines(4);
    return text.split('\r\n').slice(2, 4).join('\n');
  } finally {
    sock.destroy();
  }
}

for (const paused of [false, true]) {
  test(`descriptors: the simulator answers as QEMU 7.2 (${paused ? 'paused, -S' : 'running'})`, async (t) => {
    if (!requireQemu(t) || !requireFdAddon(t)) return;
    const before = openFds();
    const dir = mkdtempSync(join(tmpdir(), 'qmpkit-fds-diff-'));
    const img = join(dir, 'disk.img');
    writeFileSync(img, Buffer.alloc(1024 * 1024));
    const rw = openSync(img, 'r+');
    const ro = openSync(img, 'r');
    const qemu = await qemuTarget(paused);
    const sim = await simTarget(paused, dir);
    try {
      const expected = await transcript(qemu, rw, ro);
      const actual = await transcript(sim, rw, ro);
      assert.deepEqual(actual, expected);
      // Sanity: the transcript holds successes, not only errors.
      assert.ok(
        expected.some((l) => l.startsWith('add-fd {} => {"fd":N,"fdset-id":0}')),
        expected.join('\n'),
      );
    } finally {
      await sim.stop();
      await qemu.stop();
      closeSync(rw);
      closeSync(ro);
      rmSync(dir, { recursive: true, force: true });
    }
    await assertNoFdLeak(before, 'simulator and clients');
  });
}

test('descriptors sent ahead with a lone space are taken by the next getfd, in QEMU and the simulator', async (t) => {
  if (!requireQemu(t)) return;
  const addon = requireFdAddon(t);
  if (addon === undefined) return;
  const before = openFds();
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-fds-space-'));
  const fd = openSync(join(dir, 'f'), 'w');
  const qemu = await qemuTarget(false);
  const sim = await simTarget(false, dir);
  try {
    const expected = await spaceThenGetfd(addon, qemu.socketPath, fd);
    assert.equal(expected, '{"return": {}}\n{"return": {}}');
    assert.equal(await spaceThenGetfd(addon, sim.socketPath, fd), expected);
  } finally {
    await sim.stop();
    await qemu.stop();
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
  await assertNoFdLeak(before, 'lone space');
});
