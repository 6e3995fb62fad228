// The documented operator profile in front of real QEMU 7.2: the host-path attacks that work on a
// full-access listener (the control) are refused on the operator's, and leave no file behind.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { QmpClient } from '../../src/client/index.js';
import { QmpCommandError } from '../../src/errors/index.js';
import type { UntypedCommands, UntypedEvents } from '../../src/protocol/index.js';
import { QmpProxy, QmpProxyPolicy } from '../../src/proxy/index.js';
import { requireQemu, startQemu } from '../helpers/qemu.js';

type Raw = QmpClient<UntypedCommands, UntypedEvents>;

async function proxyError(c: Raw, command: string, args: Record<string, unknown>): Promise<string> {
  try {
    await c.executeRaw(command, args);
  } catch (e) {
    if (e instanceof QmpCommandError) return e.desc;
    throw e;
  }
  return 'ok';
}

test('operator profile on QEMU 7.2: host paths, programs and unlisted commands refused', {
  timeout: 90000,
}, async (t) => {
  if (!requireQemu(t)) return;
  const qemu = await startQemu({ machine: 'q35' });
  let proxy: QmpProxy | undefined;
  const clients: Raw[] = [];
  try {
    const owner = join(qemu.dir, 'owner.sock');
    const ops = join(qemu.dir, 'ops.sock');
    const screens = join(qemu.dir, 'screens');
    proxy = await QmpProxy.start({
      upstream: qemu.socketPath,
      listen: [owner, ops],
      policy: new QmpProxyPolicy({
        profiles: {
          operator: { allow: ['query-*', 'qom-get', 'qom-list', 'screendump'], paths: [screens] },
        },
        listeners: { [owner]: 'full', [ops]: 'operator' },
      }),
    });
    const full = await QmpClient.connect<UntypedCommands, UntypedEvents>(owner, { timeoutMs: 10000 });
    const op = await QmpClient.connect<UntypedCommands, UntypedEvents>(ops, { timeoutMs: 10000 });
    clients.push(full, op);

    // Control: through the full-access listener QEMU creates the file the client names.
    const control = join(qemu.dir, 'control.log');
    assert.equal(
      await proxyError(full, 'chardev-add', { id: 'c0', backend: { type: 'file', data: { out: control } } }),
      'ok',
    );
    assert.ok(existsSync(control), 'QEMU created the chardev file for the full-access client');

    const attacks: Array<[string, Record<string, unknown>, string]> = [
      ['dump-guest-memory', { paging: false, protocol: `file:${join(qemu.dir, 'ram')}` }, 'ram'],
      ['chardev-add', { id: 'c1', backend: { type: 'file', data: { out: join(qemu.dir, 'c1.log') } } }, 'c1.log'],
      ['screendump', { filename: join(qemu.dir, 'shot.ppm') }, 'shot.ppm'],
      ['drive-backup', { device: 'none', target: join(qemu.dir, 'backup.img'), sync: 'full' }, 'backup.img'],
      ['netdev_add', { type: 'tap', id: 'n0', script: join(qemu.dir, 'up.sh') }, 'up.sh'],
      ['migrate', { uri: `exec:touch ${join(qemu.dir, 'pwned')}` }, 'pwned'],
      ['human-monitor-command', { 'command-line': `dump-guest-memory ${join(qemu.dir, 'hmp-ram')}` }, 'hmp-ram'],
      ['transaction', { actions: [] }, ''],
      ['inject-nmi', {}, ''],
      ['qom-set', { path: '/machine', property: 'graphics', value: false }, ''],
      ['stop', {}, ''],
    ];
    for (const [cmd, args, file] of attacks) {
      assert.match(await proxyError(op, cmd, args), /proxy's policy/, cmd);
      if (file !== '') assert.ok(!existsSync(join(qemu.dir, file)), `${cmd} left ${file}`);
    }
    // Inside its directory the operator's screendump reaches QEMU (which has no display here).
    const inside = await proxyError(op, 'screendump', { filename: join(screens, 'shot.ppm') });
    assert.doesNotMatch(inside, /proxy's policy/);
    assert.equal(((await op.executeRaw('query-status', {})) as { status: string }).status, 'running');
  } finally {
    for (const c of clients) await c.close();
    await proxy?.close();
    await qemu.stop();
  }
});
