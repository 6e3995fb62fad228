// The texts of the client's timeout and warning messages: each names what the caller asked for.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QmpClient } from '../../src/client/index.js';
import { QmpTimeoutError } from '../../src/errors/index.js';
import { QapiSchema } from '../../src/schema/index.js';
import { FakeQmp } from './fake-qmp.js';

test('a command timeout says which reply did not come', async () => {
  const fake = new FakeQmp();
  fake.onRequest = (req, f) => {
    if (req.execute === 'qmp_capabilities') f.reply(req, {});
  };
  const qmp = await QmpClient.connect(fake.client);
  await assert.rejects(
    qmp.executeRaw('slow', {}, { timeoutMs: 20 }),
    (e: unknown) => e instanceof QmpTimeoutError && e.message === 'no reply to slow within 20 ms',
  );
  await qmp.close();
});

test('an event wait timeout names the event, not a reply', async () => {
  const fake = new FakeQmp();
  const qmp = await QmpClient.connect(fake.client);
  await assert.rejects(
    qmp.waitForEvent('STOP', { timeoutMs: 20 }),
    (e: unknown) => e instanceof QmpTimeoutError && e.message === 'no STOP event within 20 ms',
  );
  await qmp.close();
});

test("a greeting timeout shows the caller's timeout, not what was left of it", async () => {
  const fake = new FakeQmp({ greeting: false });
  const connecting = QmpClient.connect(fake.client, { timeoutMs: 200 });
  // Keep the thread busy before the greeting wait starts, so less than 200 ms is left for it.
  const until = Date.now() + 30;
  while (Date.now() < until);
  await assert.rejects(connecting, (e: unknown) => {
    assert.ok(e instanceof QmpTimeoutError);
    assert.match(e.message, /^No QMP greeting from .* within 200 ms /);
    assert.equal(e.timeoutMs, 200);
    return true;
  });
});

test('a deprecation warning says "is deprecated" once', async () => {
  const schema = QapiSchema.fromIntrospection([
    { name: 'old-cmd', 'meta-type': 'command', 'arg-type': '0', 'ret-type': '0', features: ['deprecated'] },
    { name: '0', 'meta-type': 'object', members: [] },
  ]);
  const warnings: string[] = [];
  const fake = new FakeQmp();
  const qmp = await QmpClient.connect(fake.client, { schema, onWarning: (m) => warnings.push(m) });
  await qmp.executeRaw('old-cmd');
  await qmp.executeRaw('old-cmd');
  assert.deepEqual(warnings, ["qmpkit: command 'old-cmd' is deprecated in the connected QEMU"]);
  await qmp.close();
});
