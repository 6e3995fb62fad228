// Descriptors sent to the proxy: it reads its clients with Node's stream reads, which drop
// SCM_RIGHTS descriptors (the kernel closes them), so getfd and add-fd through it reach QEMU without
// one and QEMU's own error comes back; nothing leaks in the proxy's process. Over TCP the client
// refuses before sending.
import assert from 'node:assert/strict';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { QmpClient } from '../../src/client/index.js';
import { QmpCommandError, QmpFdPassingError } from '../../src/errors/index.js';
import { QmpProxy } from '../../src/proxy/index.js';
import { assertNoFdLeak, openFds, requireFdAddon } from '../helpers/fds.js';
import { requireQemu, startQemu } from '../helpers/qemu.js';

const NO_FD = (e: unknown): boolean =>
  e instanceof QmpCommandError &&
  e.errorClass === 'GenericError' &&
  e.desc === 'No file descriptor supplied via SCM_RIGHTS';

test('through the proxy, descriptors are refused with QEMU’s own error and none leaks', async (t) => {
  if (!requireQemu(t) || !requireFdAddon(t)) return;
  const before = openFds();
  const q = await startQemu();
  let fd = -1;
  let proxy: QmpProxy | undefined;
  try {
    writeFileSync(join(q.dir, 'disk.img'), Buffer.alloc(65536));
    fd = openSync(join(q.dir, 'disk.img'), 'r');
    const front = join(q.dir, 'front.sock');
    proxy = await QmpProxy.start({ upstream: q.socketPath, listen: [`unix:${front}`, 'tcp:127.0.0.1:0'] });
    const qmp = await QmpClient.connect(front, { timeoutMs: 5000 });
    await assert.rejects(qmp.execute('getfd', { fdname: 'disk0' }, { fds: [fd] }), NO_FD);
    await assert.rejects(qmp.addFd(fd, { fdset: 1 }), NO_FD);
    // Pipelined among others: each gets its own answer.
    const [a, b, c] = await Promise.allSettled([
      qmp.execute('query-status'),
      qmp.execute('getfd', { fdname: 'disk1' }, { fds: [fd] }),
      qmp.execute('query-fdsets'),
    ]);
    assert.equal(a.status === 'fulfilled' && a.value.status, 'running');
    assert.ok(b.status === 'rejected' && NO_FD(b.reason));
    assert.deepEqual(c.status === 'fulfilled' && c.value, []);
    await qmp.close();

    const tcp = proxy.addresses.find((x) => x.startsWith('tcp:'));
    assert.ok(tcp !== undefined, proxy.addresses.join(' '));
    const overTcp = await QmpClient.connect(tcp, { timeoutMs: 5000 });
    await assert.rejects(overTcp.addFd(fd), (e: unknown) => e instanceof QmpFdPassingError && /TCP/.test(e.reason));
    await overTcp.close();
  } finally {
    if (fd >= 0) closeSync(fd);
    await proxy?.close();
    await q.stop();
  }
  await assertNoFdLeak(before, 'proxy');
});
