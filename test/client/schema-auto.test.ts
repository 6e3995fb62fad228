// connect({ schema: 'auto' }): the bundled schema of the greeting's release without a round trip,
// a fetch when none matches, the source reported, and deprecation/unstable warnings dated by release.
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { test } from 'node:test';
import { QmpClient, type QmpSchemaMessage, SCHEMA_CHANNEL } from '../../src/client/index.js';
import { QmpValidationError } from '../../src/errors/index.js';
import {
  bundledReleaseFor,
  loadReleaseIntrospection,
  QEMU_RELEASES,
  qemuIntrospectionHints,
} from '../../src/schema/index.js';
import { FakeQmp, type Request } from './fake-qmp.js';

function greeting(major: number, minor: number, micro: number): unknown {
  return { QMP: { version: { qemu: { major, minor, micro }, package: '' }, capabilities: ['oob'] } };
}

test('bundledReleaseFor: major.minor, development builds count as the next release', () => {
  assert.equal(bundledReleaseFor({ major: 7, minor: 2, micro: 22 }), '7.2');
  assert.equal(bundledReleaseFor({ major: 10, minor: 0, micro: 2 }), '10.0');
  assert.equal(bundledReleaseFor({ major: 10, minor: 1, micro: 50 }), '10.2');
  assert.equal(bundledReleaseFor({ major: 9, minor: 2, micro: 50 }), '10.0');
  assert.equal(bundledReleaseFor({ major: 10, minor: 1, micro: 49 }), undefined);
  assert.equal(bundledReleaseFor({ major: 5, minor: 2, micro: 0 }), undefined);
  assert.equal(bundledReleaseFor({ major: 10, minor: 2, micro: 50 }), undefined);
  for (const r of QEMU_RELEASES) {
    const [major, minor] = r.split('.').map(Number) as [number, number];
    assert.equal(bundledReleaseFor({ major, minor, micro: 0 }), r);
    assert.ok(qemuIntrospectionHints({ major, minor }), `hints for ${r}`);
  }
  assert.equal(qemuIntrospectionHints({ major: 5, minor: 2 }), undefined);
});

test("schema: 'auto' takes the bundled schema of the greeting's release without asking QEMU", async () => {
  const published: QmpSchemaMessage[] = [];
  const onMessage = (m: unknown): void => void published.push(m as QmpSchemaMessage);
  subscribe(SCHEMA_CHANNEL, onMessage);
  try {
    for (const [version, release] of [
      [[10, 0, 2], '10.0'],
      [[10, 1, 50], '10.2'],
      [[7, 2, 22], '7.2'],
    ] as const) {
      const fake = new FakeQmp({ greeting: greeting(version[0], version[1], version[2]) });
      const qmp = await QmpClient.connect(fake.client, { schema: 'auto', label: `v${release}` });
      assert.deepEqual(qmp.schemaSource, { kind: 'bundled', release });
      assert.deepEqual(
        fake.requests.map((r) => r.execute),
        ['qmp_capabilities'],
        'no query-qmp-schema round trip',
      );
      assert.equal(qmp.supports('query-audiodevs'), release !== '7.2');
      assert.equal(qmp.supports('x-query-profile'), release === '7.2');
      assert.equal(qmp.supports('blockdev-add', 'arguments.driver', 'null-co'), true);
      await qmp.close();
    }
    assert.deepEqual(
      published.map((m) => [m.connection, m.source]),
      [
        ['v10.0', { kind: 'bundled', release: '10.0' }],
        ['v10.2', { kind: 'bundled', release: '10.2' }],
        ['v7.2', { kind: 'bundled', release: '7.2' }],
      ],
    );
    assert.deepEqual(published[1]!.version, { major: 10, minor: 1, micro: 50 });
  } finally {
    unsubscribe(SCHEMA_CHANNEL, onMessage);
  }
});

test("schema: 'auto' validates against the release: unknown commands and bad arguments fail before sending", async () => {
  const fake = new FakeQmp({ greeting: greeting(10, 0, 2) });
  const qmp = await QmpClient.connect(fake.client, { schema: 'auto' });
  const sent = fake.requests.length;
  await assert.rejects(qmp.executeRaw('x-query-profile'), (e: unknown) => {
    assert.ok(e instanceof QmpValidationError);
    assert.match(e.message, /^x-query-profile: the connected QEMU has no such command/);
    return true;
  });
  // migrate's blk was removed in 9.1: QEMU 10.0's own error text.
  await assert.rejects(qmp.executeRaw('migrate', { uri: 'tcp:127.0.0.1:1', blk: true }), (e: unknown) => {
    assert.ok(e instanceof QmpValidationError);
    assert.match(e.message, /^migrate: arguments\.blk: unexpected member /);
    return true;
  });
  // The 7.2 integer widths apply: granularity is a uint32.
  await assert.rejects(
    qmp.executeRaw('block-dirty-bitmap-add', { node: 'n', name: 'b', granularity: 2 ** 32 }),
    /arguments\.granularity: expected an integer in 0\.\.4294967295 \(uint32\)/,
  );
  assert.equal(fake.requests.length, sent, 'nothing was sent');
  await qmp.close();
});

test("schema: 'auto' fetches the schema when no bundled release matches, and says so", async () => {
  const entries = loadReleaseIntrospection('10.2');
  const fake = new FakeQmp({ greeting: greeting(42, 1, 0) });
  fake.onRequest = (req: Request, f: FakeQmp) => f.reply(req, req.execute === 'query-qmp-schema' ? entries : {});
  const qmp = await QmpClient.connect(fake.client, { schema: 'auto' });
  assert.deepEqual(qmp.schemaSource, { kind: 'fetched' });
  assert.deepEqual(
    fake.requests.map((r) => r.execute),
    ['qmp_capabilities', 'query-qmp-schema'],
  );
  assert.equal(qmp.supports('query-audiodevs'), true);
  await qmp.close();
  const plain = await QmpClient.connect(new FakeQmp().client);
  assert.equal(plain.schemaSource, undefined);
  await plain.close();
});

test('deprecated and unstable uses warn once each, dated by the bundled releases', async () => {
  const warnings: string[] = [];
  const fake = new FakeQmp({ greeting: greeting(10, 1, 50) });
  const qmp = await QmpClient.connect(fake.client, { schema: 'auto', onWarning: (m) => warnings.push(m) });
  await qmp.executeRaw('query-migrationthreads');
  await qmp.executeRaw('query-migrationthreads');
  await qmp.executeRaw('block-job-pause', { device: 'job0' });
  await qmp.executeRaw('drive-backup', { device: 'd', target: 't', sync: 'full' });
  await qmp.executeRaw('x-query-virtio');
  await qmp.executeRaw('x-query-virtio');
  assert.deepEqual(warnings, [
    "qmpkit: command 'query-migrationthreads' is deprecated in the connected QEMU (deprecated since QEMU 9.2)",
    "qmpkit: command 'block-job-pause' is deprecated in the connected QEMU (deprecated since QEMU 10.2)",
    "qmpkit: command 'drive-backup' is deprecated in the connected QEMU (deprecated since QEMU 6.2 or earlier)",
    "qmpkit: command 'x-query-virtio' is unstable in the connected QEMU (unstable since QEMU 7.2)",
  ]);
  await qmp.close();
});

test("deprecationWarnings: 'throw' refuses the call before sending, 'off' is silent", async () => {
  const fake = new FakeQmp({ greeting: greeting(9, 2, 0) });
  const warnings: string[] = [];
  const strict = await QmpClient.connect(fake.client, {
    schema: 'auto',
    deprecationWarnings: 'throw',
    onWarning: (m) => warnings.push(m),
  });
  const sent = fake.requests.length;
  for (let i = 0; i < 2; i++)
    await assert.rejects(strict.executeRaw('query-migrationthreads'), (e: unknown) => {
      assert.ok(e instanceof QmpValidationError);
      assert.equal(e.code, 'QMP_ERR_VALIDATION');
      assert.match(e.message, /command 'query-migrationthreads' is deprecated .*since QEMU 9\.2/);
      return true;
    });
  assert.equal(fake.requests.length, sent);
  await strict.executeRaw('query-status');
  await strict.close();
  const other = new FakeQmp({ greeting: greeting(9, 2, 0) });
  const quiet = await QmpClient.connect(other.client, {
    schema: 'auto',
    deprecationWarnings: 'off',
    onWarning: (m) => warnings.push(m),
  });
  await quiet.executeRaw('query-migrationthreads');
  await quiet.close();
  assert.deepEqual(warnings, []);
});
