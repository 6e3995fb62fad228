// runJob/waitJob and migrate/waitMigration, the same checks against real QEMU 7.2 and against the
// simulator: jobs on null-co nodes, migration to `exec:cat > /dev/null`. Each test owns its process.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { migrate, QmpClient, runJob, waitJob } from '../../src/client/index.js';
import { QmpCommandError, QmpError, QmpJobError, QmpMigrationError } from '../../src/errors/index.js';
import { startSimulator } from '../../src/simulator/index.js';
import { requireQemu, startQemu } from '../helpers/qemu.js';

interface Target {
  client: QmpClient;
  stop(): Promise<void>;
}

const NONE = ['-machine', 'none', '-nodefaults', '-display', 'none'];
const PC = ['-machine', 'pc,accel=tcg', '-m', '128', '-nodefaults', '-display', 'none'];

async function onQemu(t: TestContext, args: string[]): Promise<Target | undefined> {
  if (!requireQemu(t)) return undefined;
  const q = await startQemu({ args });
  try {
    const client = await QmpClient.connect(q.socketPath, { timeoutMs: 10_000 });
    const stop = async (): Promise<void> => {
      await client.close();
      await q.stop();
    };
    return { client, stop };
  } catch (err) {
    await q.stop();
    throw err;
  }
}

async function onSim(_t: TestContext, args: string[]): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-jobs-'));
  const sock = join(dir, 'qmp.sock');
  const sim = await startSimulator({ argv: [...args, '-qmp', `unix:${sock},server=on,wait=off`] });
  const client = await QmpClient.connect(sock, { timeoutMs: 10_000 });
  return {
    client,
    stop: async () => {
      await client.close();
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function nodes(c: QmpClient, ...names: string[]): Promise<void> {
  for (const n of names) await c.execute('blockdev-add', { driver: 'null-co', 'node-name': n, size: 64 << 20 });
}

async function noJobs(c: QmpClient): Promise<void> {
  assert.deepEqual(await c.execute('query-jobs'), []);
}

for (const [where, start] of [
  ['QEMU', onQemu],
  ['simulator', onSim],
] as const) {
  test(`runJob against ${where}: mirror completes, backup is finalized and dismissed, nothing lingers`, async (t) => {
    const target = await start(t, NONE);
    if (!target) return;
    const { client: c } = target;
    try {
      await nodes(c, 'src', 'dst');
      const statuses: string[] = [];
      const m = await runJob(
        c,
        'blockdev-mirror',
        { 'job-id': 'm1', device: 'src', target: 'dst', sync: 'full' },
        { timeoutMs: 10_000, onStatus: (s) => statuses.push(s) },
      );
      assert.deepEqual(m, { id: 'm1', type: 'mirror', status: 'concluded', offset: 64 << 20, len: 64 << 20 });
      assert.deepEqual(statuses, ['created', 'running', 'ready', 'waiting', 'pending', 'concluded']);
      await noJobs(c);
      const b = await runJob(
        c,
        'blockdev-backup',
        { 'job-id': 'b1', device: 'src', target: 'dst', sync: 'full', 'auto-finalize': false, 'auto-dismiss': false },
        { timeoutMs: 10_000 },
      );
      assert.equal(b.status, 'concluded');
      assert.equal(b.type, 'backup');
      await noJobs(c);
    } finally {
      await target.stop();
    }
  });

  test(`runJob/waitJob against ${where}: until ready, then complete; cancel is the job's error`, async (t) => {
    const target = await start(t, NONE);
    if (!target) return;
    const { client: c } = target;
    try {
      await nodes(c, 'src', 'dst');
      const ready = await runJob(
        c,
        'blockdev-mirror',
        { 'job-id': 'm1', device: 'src', target: 'dst', sync: 'full', 'auto-dismiss': false },
        { until: 'ready', timeoutMs: 10_000 },
      );
      assert.equal(ready.status, 'ready');
      const [info] = (await c.execute('query-jobs')) as { status: string }[];
      assert.equal(info?.status, 'ready');
      const done = await waitJob(c, 'm1', { timeoutMs: 10_000 });
      assert.equal(done.status, 'concluded');
      await noJobs(c);

      // A backup throttled to 1 byte/s stays running; someone else cancels it.
      await c.execute('blockdev-backup', {
        'job-id': 'b2',
        device: 'src',
        target: 'dst',
        sync: 'full',
        speed: 1,
        'auto-dismiss': false,
      });
      const waiting = waitJob(c, 'b2', { timeoutMs: 10_000 });
      await c.execute('job-cancel', { id: 'b2' });
      await assert.rejects(waiting, (err: unknown) => {
        assert.ok(err instanceof QmpJobError);
        assert.equal(err.code, 'QMP_ERR_JOB');
        assert.equal(err.jobId, 'b2');
        assert.equal(err.jobError, 'Operation canceled');
        assert.equal(err.cancelled, true);
        return true;
      });
      await noJobs(c);

      await assert.rejects(
        runJob(c, 'blockdev-backup', { 'job-id': 'x', device: 'nope', target: 'dst', sync: 'full' }),
        (err: unknown) =>
          err instanceof QmpCommandError && err.desc === "Cannot find device='nope' nor node-name='nope'",
      );
    } finally {
      await target.stop();
    }
  });

  test(`runJob against ${where}: a timeout cancels the job it started`, async (t) => {
    const target = await start(t, NONE);
    if (!target) return;
    const { client: c } = target;
    try {
      await nodes(c, 'src', 'dst');
      const gone = c.waitForEvent('JOB_STATUS_CHANGE', { match: { id: 'slow', status: 'null' }, timeoutMs: 10_000 });
      await assert.rejects(
        runJob(
          c,
          'blockdev-backup',
          { 'job-id': 'slow', device: 'src', target: 'dst', sync: 'full', speed: 1, 'auto-dismiss': false },
          { timeoutMs: 200 },
        ),
        (err: unknown) => err instanceof QmpError && err.code === 'QMP_ERR_TIMEOUT',
      );
      await gone;
      await noJobs(c);
    } finally {
      await target.stop();
    }
  });

  test(`migrate against ${where}: completes to exec:, VM in postmigrate; a timeout cancels`, async (t) => {
    const target = await start(t, PC);
    if (!target) return;
    const { client: c } = target;
    try {
      const statuses: string[] = [];
      const info = await migrate(c, 'exec:cat > /dev/null', { timeoutMs: 20_000, onStatus: (s) => statuses.push(s) });
      assert.equal(info['status'], 'completed');
      assert.equal(typeof (info['ram'] as Record<string, unknown>)['total'], 'number');
      assert.deepEqual(statuses, ['setup', 'active', 'completed']);
      assert.equal((await c.execute('query-status')).status, 'postmigrate');
      await c.execute('cont');

      await assert.rejects(migrate(c, 'bogus:x'), (err: unknown) => {
        return err instanceof QmpCommandError && err.desc === "Parameter 'uri' expects a valid migration protocol";
      });

      const cancelled = c.waitForEvent('MIGRATION', { match: { status: 'cancelled' }, timeoutMs: 10_000 });
      await assert.rejects(
        migrate(c, 'exec:cat > /dev/null', { timeoutMs: 200, parameters: { 'max-bandwidth': 1000 } }),
        (err: unknown) => err instanceof QmpError && err.code === 'QMP_ERR_TIMEOUT',
      );
      await cancelled;
      assert.equal((await c.execute('query-migrate')).status, 'cancelled');
      assert.equal((await c.execute('query-status')).status, 'running');
    } finally {
      await target.stop();
    }
  });
}

test('simulator faults: a failing job rejects with its error; a failing migration with error-desc', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-jobs-'));
  const sock = join(dir, 'qmp.sock');
  const sim = await startSimulator({ argv: [...PC, '-qmp', `unix:${sock},server=on,wait=off`] });
  const c = await QmpClient.connect(sock, { timeoutMs: 10_000 });
  t.after(async () => {
    await c.close();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await nodes(c, 'src', 'dst');
  sim.faults.failNextJob();
  const error = c.waitForEvent('BLOCK_JOB_ERROR', { timeoutMs: 5000 });
  await assert.rejects(
    runJob(c, 'blockdev-mirror', {
      'job-id': 'm',
      device: 'src',
      target: 'dst',
      sync: 'full',
      'auto-dismiss': false,
    }),
    (err: unknown) =>
      err instanceof QmpJobError && err.jobError === 'Input/output error' && !err.cancelled && err.jobType === 'mirror',
  );
  assert.deepEqual((await error).data, { device: 'm', operation: 'read', action: 'report' });
  await noJobs(c);

  sim.faults.failMigration({ error: 'Unable to write to socket: Connection reset by peer' });
  await assert.rejects(migrate(c, 'tcp:127.0.0.1:1'), (err: unknown) => {
    assert.ok(err instanceof QmpMigrationError);
    assert.equal(err.code, 'QMP_ERR_MIGRATION');
    assert.equal(err.status, 'failed');
    assert.equal(err.errorDesc, 'Unable to write to socket: Connection reset by peer');
    return true;
  });
  assert.equal((await c.execute('query-status')).status, 'running');
});
