// What the differential suite cannot show byte for byte (it needs a guest, a running machine, the
// simulator's own API, or the connection dropping): PCI unplug on a running machine and with a
// cooperating guest, a reset completing unplugs, a root port taking its devices with it, netdevs
// from the command line, link state, a yanked monitor, and the PCI address parser's edges.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { QmpClient } from '../../src/client/index.js';
import { QmpCommandError } from '../../src/errors/index.js';
import { type QmpSimulator, startSimulator } from '../../src/simulator/index.js';
import { parseDevfn } from '../../src/simulator/pci-bus.js';

async function withSim(
  argv: string[],
  fn: (qmp: QmpClient, sim: QmpSimulator, sock: string) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-simdev-'));
  const sock = join(dir, 'qmp.sock');
  const sim = await startSimulator({ argv: [...argv, '-qmp', `unix:${sock},server=on,wait=off`] });
  const qmp = await QmpClient.connect(sock, { timeoutMs: 5000 });
  try {
    await fn(qmp, sim, sock);
  } finally {
    await qmp.close().catch(() => {});
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function refusal(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof QmpCommandError, 'the command was accepted');
  return `${err.errorClass}: ${err.desc}`;
}

const PC = ['-machine', 'pc', '-nodefaults'];

test('running pc: a repeated PCI device_del is answered {} again; system_reset completes the unplug', async () => {
  await withSim(PC, async (qmp) => {
    await qmp.executeRaw('device_add', { driver: 'e1000', id: 'n1' });
    assert.deepEqual(await qmp.executeRaw('device_del', { id: 'n1' }), {});
    assert.deepEqual(await qmp.executeRaw('device_del', { id: 'n1' }), {});
    const deleted = qmp.waitForEvent('DEVICE_DELETED', { timeoutMs: 5000 });
    await qmp.executeRaw('system_reset');
    assert.deepEqual((await deleted).data, { device: 'n1', path: '/machine/peripheral/n1' });
    assert.equal(await refusal(qmp.executeRaw('device_del', { id: 'n1' })), "DeviceNotFound: Device 'n1' not found");
    // The slot is free again: the next device gets it.
    await qmp.executeRaw('device_add', { driver: 'e1000', id: 'n2', addr: '2' });
  });
});

test('-S pc: a repeated PCI device_del is refused until the guest has run', async () => {
  await withSim([...PC, '-S'], async (qmp) => {
    await qmp.executeRaw('device_add', { driver: 'rtl8139', id: 'r1' });
    await qmp.executeRaw('device_del', { id: 'r1' });
    assert.equal(
      await refusal(qmp.executeRaw('device_del', { id: 'r1' })),
      'GenericError: Device r1 is already in the process of unplug',
    );
    await qmp.executeRaw('cont');
    assert.deepEqual(await qmp.executeRaw('device_del', { id: 'r1' }), {});
  });
});

test('-sim-guest: the guest acknowledges a PCI unplug and DEVICE_DELETED follows', async () => {
  await withSim([...PC, '-sim-guest'], async (qmp) => {
    await qmp.executeRaw('device_add', { driver: 'virtio-net-pci', id: 'v1' });
    const deleted = qmp.waitForEvent('DEVICE_DELETED', { timeoutMs: 5000 });
    await qmp.executeRaw('device_del', { id: 'v1' });
    assert.equal((await deleted).data.device, 'v1');
    assert.deepEqual(await qmp.executeRaw('query-rx-filter'), []);
  });
});

test('q35: unplugging a root port takes the devices behind it first, as QEMU reports them', async () => {
  await withSim(['-machine', 'q35', '-nodefaults', '-device', 'pcie-root-port,id=rp1,chassis=1'], async (qmp) => {
    await qmp.executeRaw('device_add', { driver: 'pcie-root-port', id: 'rp2', bus: 'rp1', chassis: 2 });
    await qmp.executeRaw('device_add', { driver: 'e1000e', id: 'n3', bus: 'rp2' });
    assert.equal(
      await refusal(qmp.executeRaw('device_del', { id: 'rp1' })),
      "GenericError: Bus 'pcie.0' does not support hotplugging",
    );
    const names: string[] = [];
    const two = (async () => {
      for await (const ev of qmp.events({ names: ['DEVICE_DELETED'] })) {
        names.push(String((ev.data as { device?: string }).device));
        if (names.length === 2) return;
      }
    })();
    await qmp.executeRaw('device_del', { id: 'rp2' });
    await qmp.executeRaw('system_reset');
    await Promise.race([
      two,
      new Promise((_, reject) => setTimeout(() => reject(new Error('no DEVICE_DELETED')), 5000).unref()),
    ]);
    assert.deepEqual(names, ['n3', 'rp2']);
    assert.deepEqual(
      ((await qmp.executeRaw('qom-list', { path: '/machine/peripheral' })) as Array<{ name: string }>).map(
        (p) => p.name,
      ),
      ['type', 'rp1'],
    );
  });
});

test('-netdev on the command line backs a -device NIC; set_link changes the link of both', async () => {
  await withSim([...PC, '-netdev', 'user,id=u0', '-device', 'virtio-net-pci,id=nic0,netdev=u0'], async (qmp, sim) => {
    assert.equal(
      await refusal(qmp.executeRaw('netdev_add', { type: 'user', id: 'u0' })),
      "GenericError: Duplicate ID 'u0'",
    );
    assert.equal(await qmp.executeRaw('qom-get', { path: '/machine/peripheral/nic0', property: 'netdev' }), 'u0');
    const [filter] = (await qmp.executeRaw('query-rx-filter', { name: 'nic0' })) as Array<Record<string, unknown>>;
    assert.equal(filter?.['main-mac'], '52:54:00:12:34:56');
    await qmp.executeRaw('set_link', { name: 'nic0', up: false });
    const nic = sim.devices.network.nics.find((n) => n.name === 'nic0');
    assert.equal(nic?.linkUp, false);
    assert.equal(sim.devices.network.netdevs.get('u0')?.linkUp, false);
    await qmp.executeRaw('set_link', { name: 'u0', up: true });
    assert.equal(nic?.linkUp, true);
  });
});

test('a NIC that is gone frees its default MAC address for the next one', async () => {
  await withSim([...PC, '-sim-guest'], async (qmp) => {
    await qmp.executeRaw('device_add', { driver: 'virtio-net-pci', id: 'a' });
    await qmp.executeRaw('device_add', { driver: 'virtio-net-pci', id: 'b' });
    const mac = (id: string): Promise<unknown> =>
      qmp.executeRaw('qom-get', { path: `/machine/peripheral/${id}`, property: 'mac' });
    assert.equal(await mac('b'), '52:54:00:12:34:57');
    const deleted = qmp.waitForEvent('DEVICE_DELETED', { timeoutMs: 5000 });
    await qmp.executeRaw('device_del', { id: 'a' });
    await deleted;
    await qmp.executeRaw('device_add', { driver: 'e1000', id: 'c' });
    assert.equal(await mac('c'), '52:54:00:12:34:56');
  });
});

test('a node under a device is in use until the device is gone', async () => {
  await withSim([...PC, '-sim-guest'], async (qmp) => {
    await qmp.executeRaw('blockdev-add', { driver: 'null-co', 'node-name': 'disk0' });
    await qmp.executeRaw('device_add', { driver: 'virtio-blk-pci', id: 'vd', drive: 'disk0' });
    assert.equal(
      await refusal(qmp.executeRaw('blockdev-del', { 'node-name': 'disk0' })),
      'GenericError: Node disk0 is in use',
    );
    const deleted = qmp.waitForEvent('DEVICE_DELETED', { timeoutMs: 5000 });
    await qmp.executeRaw('device_del', { id: 'vd' });
    await deleted;
    assert.deepEqual(await qmp.executeRaw('blockdev-del', { 'node-name': 'disk0' }), {});
  });
});

test("yanking the monitor's own chardev drops the connection without a reply", async () => {
  await withSim(PC, async (qmp) => {
    const closed = new Promise<void>((resolve) => qmp.onClose(() => resolve()));
    const reply = qmp.executeRaw('yank', { instances: [{ type: 'chardev', id: 'compat_monitor0' }] }).then(
      () => 'answered',
      () => 'failed',
    );
    await closed;
    assert.equal(await reply, 'failed');
  });
});

test('PCI addresses are read as QEMU reads them', () => {
  assert.equal(parseDevfn('e1000', '3'), 24);
  assert.equal(parseDevfn('e1000', ' 6'), 48);
  assert.equal(parseDevfn('e1000', '0x1f.7'), 255);
  assert.equal(parseDevfn('e1000', '1F'), 248);
  assert.equal(parseDevfn('e1000', '+2.1'), 17);
  for (const bad of ['', '20', '1f.8', '-1', 'x', '3.', '3.1.1', '3 ']) {
    assert.throws(() => parseDevfn('e1000', bad), { desc: `Property 'e1000.addr' doesn't take value '${bad}'` });
  }
});
