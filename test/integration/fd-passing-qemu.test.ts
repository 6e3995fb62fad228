// File-descriptor passing against a real QEMU 7.2: getfd/closefd, an image given through an fd set
// and opened by blockdev-add as /dev/fdset/N, descriptors on pipelined requests landing where they
// were meant to (read back from QEMU's /proc/PID/fd), a request with descriptors that times out, and
// the documented refusal without the addon. Every test checks that this process leaked no descriptor.
import assert from 'node:assert/strict';
import { closeSync, openSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { QmpClient } from '../../src/client/index.js';
import { QmpCommandError, QmpFdPassingError, QmpTimeoutError } from '../../src/errors/index.js';
import { assertNoFdLeak, openFds, requireFdAddon } from '../helpers/fds.js';
import { type QemuInstance, requireQemu, startQemu } from '../helpers/qemu.js';

/** What QEMU's descriptor `fd` is open on. */
function qemuFdTarget(q: QemuInstance, fd: number): string {
  return readlinkSync(`/proc/${q.proc.pid}/fd/${fd}`);
}

function image(q: QemuInstance, name: string): string {
  const path = join(q.dir, name);
  writeFileSync(path, Buffer.alloc(1024 * 1024));
  return path;
}

test('getfd then closefd; closefd again gets QEMU’s own error', async (t) => {
  if (!requireQemu(t) || !requireFdAddon(t)) return;
  const before = openFds();
  const q = await startQemu();
  const fd = openSync(image(q, 'getfd.img'), 'r');
  try {
    const qmp = await QmpClient.connect(q.socketPath, { timeoutMs: 5000 });
    assert.deepEqual(await qmp.execute('getfd', { fdname: 'disk0' }, { fds: [fd] }), {});
    assert.deepEqual(await qmp.execute('closefd', { fdname: 'disk0' }), {});
    await assert.rejects(
      qmp.execute('closefd', { fdname: 'disk0' }),
      (e: unknown) => e instanceof QmpCommandError && e.desc === "File descriptor named 'disk0' not found",
    );
    await assert.rejects(
      qmp.execute('getfd', { fdname: 'disk1' }),
      (e: unknown) => e instanceof QmpCommandError && e.desc === 'No file descriptor supplied via SCM_RIGHTS',
      'without fds QEMU says so, as before',
    );
    await qmp.close();
  } finally {
    closeSync(fd);
    await q.stop();
  }
  await assertNoFdLeak(before, 'getfd/closefd');
});

test('addFd of an image, blockdev-add on /dev/fdset/N, query-named-block-nodes, closeFdset; query-fdsets before and after', async (t) => {
  if (!requireQemu(t) || !requireFdAddon(t)) return;
  const before = openFds();
  const q = await startQemu();
  const path = image(q, 'disk.img');
  const fd = openSync(path, 'r+');
  try {
    const qmp = await QmpClient.connect(q.socketPath, { timeoutMs: 5000 });
    assert.deepEqual(await qmp.execute('query-fdsets'), []);
    const added = await qmp.addFd(fd, { fdset: 3, opaque: 'disk image' });
    assert.equal(added['fdset-id'], 3);
    assert.equal(qemuFdTarget(q, added.fd), path, 'QEMU holds the file this process opened');
    closeSync(fd); // QEMU has its own copy
    assert.deepEqual(await qmp.execute('query-fdsets'), [
      { fds: [{ fd: added.fd, opaque: 'disk image' }], 'fdset-id': 3 },
    ]);
    const second = openSync(path, 'r');
    const auto = await qmp.addFd(second).finally(() => closeSync(second));
    assert.ok(auto['fdset-id'] !== 3, 'QEMU picks a new set when none is named');
    await qmp.closeFdset(auto['fdset-id']);
    await qmp.execute('blockdev-add', {
      'node-name': 'disk0',
      driver: 'raw',
      file: { driver: 'file', filename: '/dev/fdset/3' },
    });
    const nodes = await qmp.execute('query-named-block-nodes');
    const disk = nodes.find((n) => n['node-name'] === 'disk0');
    assert.equal(disk?.file, '/dev/fdset/3');
    assert.equal(disk?.drv, 'raw');
    await qmp.execute('blockdev-del', { 'node-name': 'disk0' });
    await qmp.closeFdset(3, { fd: added.fd });
    assert.deepEqual(await qmp.execute('query-fdsets'), []);
    await assert.rejects(
      qmp.closeFdset(3),
      (e: unknown) => e instanceof QmpCommandError && e.desc === "File descriptor named 'fdset-id:3' not found",
    );
    await qmp.close();
  } finally {
    await q.stop();
  }
  await assertNoFdLeak(before, 'add-fd/blockdev-add');
});

test('descriptors on pipelined requests among others land with their own request', async (t) => {
  if (!requireQemu(t) || !requireFdAddon(t)) return;
  const before = openFds();
  const q = await startQemu();
  const paths = [0, 1, 2, 3].map((i) => image(q, `pipe${i}.img`));
  const fds = paths.map((p) => openSync(p, 'r'));
  try {
    const qmp = await QmpClient.connect(q.socketPath, { timeoutMs: 5000 });
    // All issued in one tick: requests without descriptors around each one with them.
    const plain = (): Promise<unknown> => qmp.execute('query-status');
    const calls: Promise<unknown>[] = [];
    for (const [i, fd] of fds.entries()) {
      calls.push(plain(), plain());
      calls.push(
        i === 3
          ? qmp.execute('getfd', { fdname: 'last' }, { fds: [fd] })
          : qmp.addFd(fd, { fdset: i + 1, opaque: `set${i + 1}` }),
      );
      calls.push(plain());
    }
    const results = await Promise.all(calls);
    assert.equal(results.length, 16);
    const sets = await qmp.execute('query-fdsets');
    assert.equal(sets.length, 3);
    for (const set of sets) {
      const i = Number(set['fdset-id']) - 1;
      assert.equal(set.fds.length, 1);
      assert.equal(set.fds[0]?.opaque, `set${i + 1}`);
      assert.equal(
        qemuFdTarget(q, Number(set.fds[0]?.fd ?? -1)),
        paths[i],
        `fd set ${i + 1} holds its own request's file`,
      );
    }
    assert.deepEqual(await qmp.execute('closefd', { fdname: 'last' }), {});
    await qmp.close();
  } finally {
    for (const fd of fds) closeSync(fd);
    await q.stop();
  }
  await assertNoFdLeak(before, 'pipelined');
});

test('a request with descriptors that times out: the late reply is dropped, the descriptor arrived, the next one follows', async (t) => {
  if (!requireQemu(t) || !requireFdAddon(t)) return;
  const before = openFds();
  const q = await startQemu();
  const fd = openSync(image(q, 'late.img'), 'r');
  try {
    const qmp = await QmpClient.connect(q.socketPath, { timeoutMs: 5000 });
    // A stopped QEMU reads nothing: the call's deadline passes while its bytes wait in the socket.
    q.proc.kill('SIGSTOP');
    await assert.rejects(
      qmp.execute('getfd', { fdname: 'late' }, { fds: [fd], timeoutMs: 200 }),
      (e: unknown) => e instanceof QmpTimeoutError && e.code === 'QMP_ERR_TIMEOUT',
    );
    // Issued while the late one is unanswered: it waits for that reply, then goes with its own descriptor.
    const next = qmp.addFd(fd, { fdset: 7 });
    q.proc.kill('SIGCONT');
    const added = await next;
    assert.equal(added['fdset-id'], 7);
    assert.deepEqual(
      await qmp.execute('closefd', { fdname: 'late' }),
      {},
      'the timed-out getfd did run with its descriptor',
    );
    await qmp.closeFdset(7);
    await qmp.close();
  } finally {
    closeSync(fd);
    await q.stop();
  }
  await assertNoFdLeak(before, 'timeout');
});

test('without the addon (QMPKIT_NO_NATIVE=1) fd calls fail with QMP_ERR_FD_UNAVAILABLE and nothing is sent', async (t) => {
  if (!requireQemu(t)) return;
  const before = openFds();
  const q = await startQemu();
  const fd = openSync(image(q, 'none.img'), 'r');
  const saved = process.env['QMPKIT_NO_NATIVE'];
  process.env['QMPKIT_NO_NATIVE'] = '1';
  try {
    const qmp = await QmpClient.connect(q.socketPath, { timeoutMs: 5000 });
    await assert.rejects(qmp.addFd(fd), (e: unknown) => {
      assert.ok(e instanceof QmpFdPassingError);
      assert.equal(e.code, 'QMP_ERR_FD_UNAVAILABLE');
      assert.match(e.reason, /QMPKIT_NO_NATIVE=1/);
      return true;
    });
    assert.deepEqual(await qmp.execute('query-fdsets'), [], 'add-fd never reached QEMU');
    assert.equal((await qmp.execute('query-status')).status, 'running');
    await qmp.close();
  } finally {
    if (saved === undefined) delete process.env['QMPKIT_NO_NATIVE'];
    else process.env['QMPKIT_NO_NATIVE'] = saved;
    closeSync(fd);
    await q.stop();
  }
  await assertNoFdLeak(before, 'no addon');
});
