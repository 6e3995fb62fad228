// Names QEMU 7.2 refuses (qdev ids, node names) and hotplug into q35's root complex: the simulator
// refuses them with QEMU's own words, and the same requests to a real QEMU give the same errors.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { QmpClient } from '../../src/client/index.js';
import { QmpCommandError } from '../../src/errors/index.js';
import { startSimulator } from '../../src/simulator/index.js';
import type { JsonObject } from '../../src/wire/json-value.js';
import { requireQemu, startQemu } from '../helpers/qemu.js';

const CASES: readonly {
  readonly command: 'device_add' | 'blockdev-add';
  readonly args: JsonObject;
  readonly desc: string;
}[] = [
  { command: 'device_add', args: { driver: 'e1000', id: 'net1' }, desc: "Bus 'pcie.0' does not support hotplugging" },
  {
    command: 'device_add',
    args: { driver: 'e1000', id: 'n1', bus: 'pcie.0' },
    desc: "Bus 'pcie.0' does not support hotplugging",
  },
  { command: 'device_add', args: { driver: 'e1000', id: '1abc' }, desc: "Parameter 'id' expects an identifier" },
  { command: 'device_add', args: { driver: 'e1000', id: 'a/b' }, desc: "Parameter 'id' expects an identifier" },
  { command: 'device_add', args: { driver: 'e1000', id: '' }, desc: "Parameter 'id' expects an identifier" },
  { command: 'blockdev-add', args: { driver: 'null-co', 'node-name': '1bad' }, desc: "Invalid node-name: '1bad'" },
  { command: 'blockdev-add', args: { driver: 'null-co', 'node-name': 'a/b' }, desc: "Invalid node-name: 'a/b'" },
  { command: 'blockdev-add', args: { driver: 'null-co', 'node-name': '' }, desc: "Invalid node-name: ''" },
  {
    command: 'blockdev-add',
    args: { driver: 'null-co', 'node-name': `a${'1'.repeat(31)}` },
    desc: 'Node name too long',
  },
];

async function refusals(qmp: QmpClient): Promise<string[]> {
  const out: string[] = [];
  for (const c of CASES) {
    const err = await qmp.executeRaw(c.command, c.args).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof QmpCommandError, `${c.command} ${JSON.stringify(c.args)} was accepted`);
    out.push(`${err.errorClass}: ${err.desc}`);
  }
  // Names at the edge of the rules are accepted.
  assert.deepEqual(await qmp.executeRaw('blockdev-add', { driver: 'null-co', 'node-name': `a${'1'.repeat(30)}` }), {});
  assert.deepEqual(await qmp.executeRaw('blockdev-add', { driver: 'null-co', 'node-name': 'n-1.x_y' }), {});
  return out;
}

const expected = CASES.map((c) => `GenericError: ${c.desc}`);

test('simulator on q35: bad ids, bad node names and hotplug into pcie.0 are refused as QEMU 7.2 does', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-simv-'));
  const sock = join(dir, 'qmp.sock');
  const sim = await startSimulator({
    argv: ['-machine', 'q35', '-nodefaults', '-qmp', `unix:${sock},server=on,wait=off`],
  });
  try {
    const qmp = await QmpClient.connect(sock, { timeoutMs: 5000 });
    try {
      assert.deepEqual(await refusals(qmp), expected);
    } finally {
      await qmp.close();
    }
  } finally {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('simulator on pc: an id that is not an identifier is refused before the bus is chosen', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-simv-'));
  const sock = join(dir, 'qmp.sock');
  const sim = await startSimulator({ argv: ['-machine', 'pc', '-qmp', `unix:${sock},server=on,wait=off`] });
  try {
    const qmp = await QmpClient.connect(sock, { timeoutMs: 5000 });
    try {
      await assert.rejects(qmp.executeRaw('device_add', { driver: 'e1000', id: '9net' }), {
        desc: "Parameter 'id' expects an identifier",
      });
      assert.deepEqual(await qmp.executeRaw('device_add', { driver: 'e1000', id: 'net1' }), {});
    } finally {
      await qmp.close();
    }
  } finally {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('real QEMU 7.2 on q35 gives the same refusals', async (t) => {
  if (!requireQemu(t)) return;
  const q = await startQemu({ machine: 'q35' });
  try {
    const qmp = await QmpClient.connect(q.socketPath, { timeoutMs: 10000 });
    try {
      assert.deepEqual(await refusals(qmp), expected);
    } finally {
      await qmp.close();
    }
  } finally {
    await q.stop();
  }
});

/** Ejects the default machine's cd-rom and returns the DEVICE_TRAY_MOVED data QEMU sent. */
async function defaultCdrom(qmp: QmpClient, device: string): Promise<unknown> {
  const moved = qmp.waitForEvent('DEVICE_TRAY_MOVED', { timeoutMs: 10000 });
  await qmp.executeRaw('eject', { device });
  return (await moved).data;
}

const DEFAULT_CDROMS = [
  { machine: 'pc', device: 'ide1-cd0', id: '/machine/unattached/device[23]' },
  { machine: 'q35', device: 'ide2-cd0', id: '/machine/unattached/device[18]' },
] as const;

for (const c of DEFAULT_CDROMS) {
  test(`simulator ${c.machine} without -nodefaults: the default cd-rom is ${c.device} at QEMU's QOM path`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qmpkit-simv-'));
    const sock = join(dir, 'qmp.sock');
    const sim = await startSimulator({ argv: ['-machine', c.machine, '-qmp', `unix:${sock},server=on,wait=off`] });
    try {
      const qmp = await QmpClient.connect(sock, { timeoutMs: 5000 });
      try {
        assert.deepEqual(await defaultCdrom(qmp, c.device), { device: c.device, 'tray-open': true, id: c.id });
      } finally {
        await qmp.close();
      }
    } finally {
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`real QEMU 7.2 ${c.machine} without -nodefaults: the same cd-rom and path`, async (t) => {
    if (!requireQemu(t)) return;
    const q = await startQemu({ args: ['-machine', `${c.machine},accel=tcg`, '-m', '64', '-display', 'none'] });
    try {
      const qmp = await QmpClient.connect(q.socketPath, { timeoutMs: 10000 });
      try {
        assert.deepEqual(await defaultCdrom(qmp, c.device), { device: c.device, 'tray-open': true, id: c.id });
      } finally {
        await qmp.close();
      }
    } finally {
      await q.stop();
    }
  });
}
