// Descriptors handed to QEMU at start (launch({ fds }) and qmpkit launch --add-fd): QEMU finds them
// in the fd sets named, opens them as /dev/fdset/N, and this works without the native addon.
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAddFd } from '../../src/cli/add-fd-option.js';
import { QmpUsageError } from '../../src/errors/index.js';
import { launch } from '../../src/launcher/index.js';
import { CliProcess, QMPKIT, qmpkit } from '../cli/helpers/run-cli.js';
import { assertNoFdLeak, openFds } from '../helpers/fds.js';
import { QEMU_BINARY, requireQemu } from '../helpers/qemu.js';

const HEADLESS = [QEMU_BINARY, '-machine', 'none', '-nodefaults', '-display', 'none'];

function tempImage(): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-launch-fds-'));
  const path = join(dir, 'disk.img');
  writeFileSync(path, Buffer.alloc(1024 * 1024));
  return { dir, path };
}

test('parseAddFd: path, set, opaque with a doubled comma, readonly; bad options are usage errors', () => {
  assert.deepEqual(parseAddFd('/tmp/a.img'), {
    path: '/tmp/a.img',
    set: undefined,
    opaque: undefined,
    readonly: false,
  });
  assert.deepEqual(parseAddFd('/tmp/a,,b.img,set=4,opaque=x,,y,readonly=on'), {
    path: '/tmp/a,b.img',
    set: 4,
    opaque: 'x,y',
    readonly: true,
  });
  assert.throws(() => parseAddFd('/tmp/a.img,set=-1'), QmpUsageError);
  assert.throws(() => parseAddFd('/tmp/a.img,mode=rw'), /unknown or bad option 'mode=rw'/);
  assert.throws(() => parseAddFd(',set=1'), /missing the file path/);
});

test('launch({ fds }): QEMU gets them in the named fd sets and opens /dev/fdset/N, without the addon', async (t) => {
  if (!requireQemu(t)) return;
  const before = openFds();
  const { dir, path } = tempImage();
  const saved = process.env['QMPKIT_NO_NATIVE'];
  process.env['QMPKIT_NO_NATIVE'] = '1';
  const rw = openSync(path, 'r+');
  const ro = openSync(path, 'r');
  try {
    await assert.rejects(launch({ argv: HEADLESS, fds: [{ fd: 1_000_000 }] }), (e: unknown) => {
      return e instanceof QmpUsageError && /fds\[0\] \(1000000\) is not an open file descriptor/.test(e.message);
    });
    const vm = await launch({ argv: HEADLESS, fds: [{ fd: rw, set: 5, opaque: 'disk,rw' }, ro] });
    try {
      assert.ok(vm.argv.includes('fd=3,set=5,opaque=disk,,rw'), vm.argv.join(' '));
      assert.ok(vm.argv.includes('fd=4,set=2'), 'a bare descriptor goes in set index + 1');
      const sets = await vm.qmp.execute('query-fdsets');
      const five = sets.find((s) => s['fdset-id'] === 5);
      assert.deepEqual(
        five?.fds.map((f) => f.opaque),
        ['disk,rw'],
      );
      assert.equal(readlinkSync(`/proc/${vm.pid}/fd/${Number(five?.fds[0]?.fd)}`), path);
      await vm.qmp.execute('blockdev-add', {
        'node-name': 'disk0',
        driver: 'raw',
        file: { driver: 'file', filename: '/dev/fdset/5' },
      });
      const nodes = await vm.qmp.execute('query-named-block-nodes');
      assert.equal(nodes.find((n) => n['node-name'] === 'disk0')?.file, '/dev/fdset/5');
    } finally {
      await vm.close();
    }
  } finally {
    if (saved === undefined) delete process.env['QMPKIT_NO_NATIVE'];
    else process.env['QMPKIT_NO_NATIVE'] = saved;
    closeSync(rw);
    closeSync(ro);
    rmSync(dir, { recursive: true, force: true });
  }
  await assertNoFdLeak(before, 'launch fds');
});

test('qmpkit launch --add-fd: QEMU opens /dev/fdset/N at start; a missing file is a usage error', async (t) => {
  if (!requireQemu(t)) return;
  const { dir, path } = tempImage();
  try {
    const missing = await qmpkit(['launch', '--add-fd', join(dir, 'nope.img'), '--', ...HEADLESS]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^qmpkit launch: --add-fd .*nope\.img: ENOENT/);
    // QEMU itself opens the disk from the set at start: it exits at once if the descriptor is not there.
    const blockdev = 'driver=raw,node-name=disk0,file.driver=file,file.filename=/dev/fdset/7';
    const p = new CliProcess(QMPKIT, ['launch', '--add-fd', `${path},set=7`, '--', ...HEADLESS, '-blockdev', blockdev]);
    try {
      await p.waitFor('stderr', /is running \(pid \d+\)/, 30_000);
      const r = await p.stop('SIGTERM');
      assert.equal(r.code, 0, r.stderr);
    } finally {
      p.kill();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
