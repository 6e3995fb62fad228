// connect({ schema: 'fetch' }) against a real QEMU 7.2: checks before sending, supports(), warn-once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QmpClient } from '../../src/client/index.js';
import { QmpValidationError } from '../../src/errors/index.js';
import { requireQemu, startQemu } from '../helpers/qemu.js';

test("schema: 'fetch' rejects unknown commands and bad arguments before sending, answers supports(), warns once", async (t) => {
  if (!requireQemu(t)) return;
  const q = await startQemu({ machine: 'q35', cdrom: 'media' });
  try {
    const warnings: string[] = [];
    const qmp = await QmpClient.connect(q.socketPath, {
      timeoutMs: 10000,
      schema: 'fetch',
      onWarning: (m) => warnings.push(m),
    });
    assert.ok(qmp.schema, 'the live schema was read');
    assert.equal(qmp.supports('blockdev-add'), true);
    assert.equal(qmp.supports('blockdev-add', 'arguments.driver', 'null-co'), true);
    assert.equal(qmp.supports('blockdev-add', 'arguments.driver', 'no-such-driver'), false);
    assert.equal(qmp.supports('query-events'), false);
    const sentBefore = qmp.pendingCount;
    await assert.rejects(qmp.executeRaw('query-events'), (e: unknown) => {
      assert.ok(e instanceof QmpValidationError);
      assert.equal(e.code, 'QMP_ERR_VALIDATION');
      return true;
    });
    await assert.rejects(qmp.executeRaw('eject', { id: 'ide1-cd0', force: 'yes' }), (e: unknown) => {
      assert.ok(e instanceof QmpValidationError);
      assert.match(e.path, /force/);
      return true;
    });
    await assert.rejects(qmp.executeRaw('blockdev-add', { driver: 'bogus', 'node-name': 'n0' }), QmpValidationError);
    assert.equal(qmp.pendingCount, sentBefore, 'nothing was sent');
    // eject's `device` member is deprecated in 7.2: one warning however often it is used.
    await qmp.executeRaw('eject', { device: 'cd0', force: true });
    await qmp.executeRaw('eject', { device: 'cd0', force: true });
    assert.equal(warnings.filter((w) => w.includes('device')).length, 1, warnings.join('; '));
    assert.deepEqual(await qmp.execute('query-status'), { status: 'running', singlestep: false, running: true });
    await qmp.close();
  } finally {
    await q.stop();
  }
});
