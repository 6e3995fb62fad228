// Descriptors through the proxy, against a real QEMU 7.2: a client on a unix socket passes them, the
// proxy receives them with recvmsg and sends them on with the getfd or add-fd they came with, over its
// own unix connection to QEMU. Where the way up cannot carry them (a proxy behind a proxy over TCP),
// the request goes up without them and QEMU's own error comes back; a client on TCP is refused by its
// own library before sending. Nothing leaks in this process (proxies and clients alike).
import assert from 'node:assert/strict';
import { closeSync, openSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { QmpClient } from '../../src/client/index.js';
import { QmpCommandError, QmpFdPassingError, QmpTimeoutError } from '../../src/errors/index.js';
import { QmpProxy } from '../../src/proxy/index.js';
import { assertNoFdLeak, openFds, requireFdAddon } from '../helpers/fds.js';
import { requireQemu, startQemu } from '../helpers/qemu.js';

const NO_FD = (e: unknown): boolean =>
  e instanceof QmpCommandError &&
  e.errorClass === 'GenericError' &&
  e.desc === 'No file descriptor supplied via SCM_RIGHTS';

test('through the proxy: getfd/closefd, add-fd + blockdev-add /dev/fdset/N + remove-fd, pipelined, none leaks', async (t) => {
  if (!requireQemu(t) || !requireFdAddon(t)) return;
  const before = openFds();
  const q = await startQemu();
  const path = join(q.dir, 'disk.img');
  writeFileSync(path, Buffer.alloc(1024 * 1024));
  const rw = openSync(path, 'r+');
  let proxy: QmpProxy | undefined;
  try {
    const front = join(q.dir, 'front.sock');
    proxy = await QmpProxy.start({ upstream: q.socketPath, listen: [`unix:${front}`, 'tcp:127.0.0.1:0'] });
    const qmp = await QmpClient.connect(front, { timeoutMs: 5000 });
    assert.deepEqual(await qmp.execute('getfd', { fdname: 'disk0' }, { fds: [rw] }), {});
    assert.deepEqual(await qmp.execute('closefd', { fdname: 'disk0' }), {});
    await assert.rejects(qmp.execute('getfd', { fdname: 'disk1' }), NO_FD, 'no descriptor: QEMU says so');

    assert.deepEqual(await qmp.execute('query-fdsets'), []);
    const added = await qmp.addFd(rw, { fdset: 4, opaque: 'through the proxy' });
    assert.equal(added['fdset-id'], 4);
    assert.equal(readlinkSync(`/proc/${q.proc.pid}/fd/${added.fd}`), path, 'QEMU holds the file this process opened');
    assert.deepEqual(await qmp.execute('query-fdsets'), [
      { fds: [{ fd: added.fd, opaque: 'through the proxy' }], 'fdset-id': 4 },
    ]);
    await qmp.execute('blockdev-add', { 'node-name': 'disk0', driver: 'file', filename: '/dev/fdset/4' });
    const nodes = await qmp.execute('query-named-block-nodes');
    assert.equal(nodes.find((n) => n['node-name'] === 'disk0')?.file, '/dev/fdset/4');
    await qmp.execute('blockdev-del', { 'node-name': 'disk0' });
    await qmp.closeFdset(4);
    assert.deepEqual(await qmp.execute('query-fdsets'), []);

    // Pipelined among requests without descriptors: each gets its own answer.
    const [a, b, c, d] = await Promise.allSettled([
      qmp.execute('query-status'),
      qmp.execute('getfd', { fdname: 'p1' }, { fds: [rw] }),
      qmp.execute('query-name'),
      qmp.execute('closefd', { fdname: 'p1' }),
    ]);
    assert.equal(a.status === 'fulfilled' && a.value.status, 'running');
    assert.deepEqual(b.status === 'fulfilled' && b.value, {});
    assert.deepEqual(c.status === 'fulfilled' && c.value, {});
    assert.deepEqual(d.status === 'fulfilled' && d.value, {}, 'p1 was there to close');
    await qmp.close();

    const tcp = proxy.addresses.find((x) => x.startsWith('tcp:'));
    assert.ok(tcp !== undefined, proxy.addresses.join(' '));
    const overTcp = await QmpClient.connect(tcp, { timeoutMs: 5000 });
    await assert.rejects(overTcp.addFd(rw), (e: unknown) => e instanceof QmpFdPassingError && /TCP/.test(e.reason));
    await overTcp.close();
  } finally {
    closeSync(rw);
    await proxy?.close();
    await q.stop();
  }
  await assertNoFdLeak(before, 'proxy');
});

test('a proxy whose way up is TCP sends the request without the descriptor: QEMU’s own error', async (t) => {
  if (!requireQemu(t) || !requireFdAddon(t)) return;
  const before = openFds();
  const q = await startQemu();
  const fd = openSync(q.socketPath.replace(/qmp\.sock$/, ''), 'r');
  let inner: QmpProxy | undefined;
  let outer: QmpProxy | undefined;
  try {
    inner = await QmpProxy.start({ upstream: q.socketPath, listen: ['tcp:127.0.0.1:0'] });
    const innerTcp = inner.addresses[0];
    assert.ok(innerTcp !== undefined);
    const front = join(q.dir, 'outer.sock');
    outer = await QmpProxy.start({ upstream: innerTcp, listen: [`unix:${front}`] });
    const qmp = await QmpClient.connect(front, { timeoutMs: 5000 });
    await assert.rejects(qmp.execute('getfd', { fdname: 'x' }, { fds: [fd] }), NO_FD);
    await assert.rejects(qmp.addFd(fd, { fdset: 1 }), NO_FD);
    assert.deepEqual(await qmp.execute('query-fdsets'), []);
    await qmp.close();
  } finally {
    closeSync(fd);
    await outer?.close();
    await inner?.close();
    await q.stop();
  }
  await assertNoFdLeak(before, 'proxy over TCP');
});

test('through the proxy, a request with a descriptor that times out: it still reaches QEMU, the next follows', async (t) => {
  if (!requireQemu(t) || !requireFdAddon(t)) return;
  const before = openFds();
  const q = await startQemu();
  const path = join(q.dir, 'late.img');
  writeFileSync(path, Buffer.alloc(65536));
  const fd = openSync(path, 'r');
  let proxy: QmpProxy | undefined;
  try {
    const front = join(q.dir, 'front.sock');
    proxy = await QmpProxy.start({ upstream: q.socketPath, listen: [`unix:${front}`] });
    const qmp = await QmpClient.connect(front, { timeoutMs: 5000 });
    // A stopped QEMU reads nothing: the client's deadline passes while the proxy waits for QEMU.
    q.proc.kill('SIGSTOP');
    await assert.rejects(
      qmp.execute('getfd', { fdname: 'late' }, { fds: [fd], timeoutMs: 200 }),
      (e: unknown) => e instanceof QmpTimeoutError && e.code === 'QMP_ERR_TIMEOUT',
    );
    const next = qmp.addFd(fd, { fdset: 7 });
    q.proc.kill('SIGCONT');
    assert.equal((await next)['fdset-id'], 7);
    assert.deepEqual(await qmp.execute('closefd', { fdname: 'late' }), {}, 'the late getfd ran with its descriptor');
    await qmp.closeFdset(7);
    await qmp.close();
  } finally {
    q.proc.kill('SIGCONT');
    closeSync(fd);
    await proxy?.close();
    await q.stop();
  }
  await assertNoFdLeak(before, 'proxy, late reply');
});
