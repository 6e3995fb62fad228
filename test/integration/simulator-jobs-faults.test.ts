// The simulator's block jobs over time (a speed makes a job observable mid-way) and its fault
// injection API (sim.faults and -sim-fault): I/O errors with their action, crashes, slow commands.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { migrate, QmpClient, runJob, waitMigration } from '../../src/client/index.js';
import { QmpError, QmpJobError, QmpUsageError } from '../../src/errors/index.js';
import { parseFaultSpec, type QmpSimulator, startSimulator } from '../../src/simulator/index.js';

async function sim(t: TestContext, argv: string[]): Promise<{ sim: QmpSimulator; c: QmpClient }> {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-simjobs-'));
  const sock = join(dir, 'qmp.sock');
  const s = await startSimulator({ argv: [...argv, '-qmp', `unix:${sock},server=on,wait=off`] });
  const c = await QmpClient.connect(sock, { timeoutMs: 10_000 });
  t.after(async () => {
    await c.close();
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { sim: s, c };
}

const NONE = ['-machine', 'none', '-nodefaults'];
const MiB = 1 << 20;

async function nodes(c: QmpClient): Promise<void> {
  for (const n of ['src', 'dst'])
    await c.execute('blockdev-add', { driver: 'null-co', 'node-name': n, size: 64 * MiB });
}

test('a throttled backup is seen mid-way, and finishes once its speed is lifted', async (t) => {
  const { c } = await sim(t, NONE);
  await nodes(c);
  await c.execute('blockdev-backup', { 'job-id': 'b', device: 'src', target: 'dst', sync: 'full', speed: MiB });
  const [mid] = await c.execute('query-jobs');
  assert.equal(mid?.status, 'running');
  assert.ok(mid && mid['current-progress'] > 0 && mid['current-progress'] < mid['total-progress']);
  const [block] = await c.execute('query-block-jobs');
  assert.equal(block?.speed, MiB);
  const done = c.waitForEvent('BLOCK_JOB_COMPLETED', { timeoutMs: 10_000 });
  await c.execute('block-job-set-speed', { device: 'b', speed: 0 });
  const ev = await done;
  assert.equal(ev.data.offset, 64 * MiB);
  assert.equal(ev.data.len, 64 * MiB);
  assert.deepEqual(await c.execute('query-jobs'), []);
});

test('a mirror at a set speed copies over time until it is ready', async (t) => {
  const { c } = await sim(t, NONE);
  await nodes(c);
  const seen: number[] = [];
  const it = c.events({ names: ['BLOCK_JOB_READY'] });
  await c.execute('blockdev-mirror', { 'job-id': 'm', device: 'src', target: 'dst', sync: 'full', speed: 256 * MiB });
  const [first] = await c.execute('query-jobs');
  seen.push(Number(first?.['current-progress'] ?? -1));
  const ready = await Promise.race([
    it.next(),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no BLOCK_JOB_READY')), 10_000).unref()),
  ]);
  await it.return?.();
  assert.equal(ready.done, false);
  const [now] = await c.execute('query-jobs');
  assert.equal(now?.status, 'ready');
  assert.ok((seen[0] ?? -1) < 64 * MiB, 'the first look was mid-way');
  assert.equal(now?.['current-progress'], 64 * MiB);
});

test('faults.blockIoError with action stop pauses the VM in io-error; cont resumes it', async (t) => {
  const { sim: s, c } = await sim(t, ['-machine', 'pc']);
  const io = c.waitForEvent('BLOCK_IO_ERROR', { timeoutMs: 5000 });
  const stop = c.waitForEvent('STOP', { timeoutMs: 5000 });
  s.faults.blockIoError({ device: 'ide1-cd0', operation: 'read', action: 'stop' });
  const ev = await io;
  assert.deepEqual(ev.data, {
    device: 'ide1-cd0',
    operation: 'read',
    action: 'stop',
    reason: 'Input/output error',
  });
  await stop;
  assert.equal((await c.execute('query-status')).status, 'io-error');
  const [blk] = await c.execute('query-block');
  assert.equal(blk?.['io-status'], 'failed');
  await c.execute('cont');
  assert.equal((await c.execute('query-status')).status, 'running');
  assert.throws(() => s.faults.blockIoError({ device: 'nope' }), /Device 'nope' not found/);
});

test('faults.crash drops the connection as a dying QEMU does', async (t) => {
  const { sim: s, c } = await sim(t, NONE);
  s.faults.crash();
  const reason = await c.closed;
  assert.equal(reason?.code, 'QMP_ERR_DISCONNECTED');
  assert.equal(await s.exited, 'crashed');
});

test('faults.slowCommand delays one command, and the requests queued behind it', async (t) => {
  const { sim: s, c } = await sim(t, NONE);
  s.faults.slowCommand('query-name', 1000);
  const slow = c.execute('query-name', undefined, { timeoutMs: 100 });
  const behind = c.execute('query-status');
  await assert.rejects(slow, (err: unknown) => err instanceof QmpError && err.code === 'QMP_ERR_TIMEOUT');
  assert.equal((await behind).status, 'running');
});

test('-sim-fault crash,command=NAME: QEMU dies on that command without answering', async (t) => {
  const { sim: s, c } = await sim(t, [...NONE, '-sim-fault', 'crash,command=device_add']);
  await assert.rejects(c.execute('device_add', { driver: 'e1000', id: 'n' }), (err: unknown) => {
    return err instanceof QmpError && err.code === 'QMP_ERR_DISCONNECTED';
  });
  assert.equal(await s.exited, 'crashed');
});

test('-sim-fault job-fail: the next job fails with the given text', async (t) => {
  const { c } = await sim(t, [...NONE, '-sim-fault', 'job-fail,error=No space left on device']);
  await nodes(c);
  await assert.rejects(
    runJob(c, 'blockdev-backup', { 'job-id': 'b', device: 'src', target: 'dst', sync: 'full' }),
    (err: unknown) => err instanceof QmpJobError && err.jobError === 'No space left on device',
  );
  const ok = await runJob(c, 'blockdev-backup', { 'job-id': 'b', device: 'src', target: 'dst', sync: 'full' });
  assert.equal(ok.status, 'concluded');
});

test('migrate: an abort cancels the migration; waitMigration follows one started by hand', async (t) => {
  const { c } = await sim(t, ['-machine', 'pc']);
  const ac = new AbortController();
  const cancelled = c.waitForEvent('MIGRATION', { match: { status: 'cancelled' }, timeoutMs: 5000 });
  const slow = migrate(c, 'exec:cat > /dev/null', {
    signal: ac.signal,
    parameters: { 'max-bandwidth': 1000 },
    onStatus: (s) => {
      if (s === 'active') ac.abort();
    },
  });
  await assert.rejects(slow, (err: unknown) => err instanceof QmpError && err.code === 'QMP_ERR_ABORTED');
  await cancelled;
  assert.equal((await c.execute('query-status')).status, 'running');

  await c.execute('migrate-set-parameters', { 'max-bandwidth': 1 << 30 });
  await c.execute('migrate', { uri: 'unix:/nonexistent/sock' });
  const info = await waitMigration(c, { timeoutMs: 5000 });
  assert.equal(info['status'], 'completed');
  assert.equal((await c.execute('query-status')).status, 'postmigrate');
});

test('parseFaultSpec: the documented specs, and usage errors for the rest', () => {
  assert.deepEqual(parseFaultSpec('io-error,device=d0,operation=read,action=stop,nospace=on,after=5'), {
    kind: 'io-error',
    error: { device: 'd0', operation: 'read', action: 'stop', nospace: true },
    afterMs: 5,
  });
  assert.deepEqual(parseFaultSpec('slow,command=query-status,ms=250'), {
    kind: 'slow',
    command: 'query-status',
    ms: 250,
  });
  assert.deepEqual(parseFaultSpec('migration-fail'), {
    kind: 'migration-fail',
    error: 'Unable to write to socket: Broken pipe',
  });
  assert.deepEqual(parseFaultSpec('crash,after=10'), { kind: 'crash', afterMs: 10, command: undefined });
  for (const [spec, msg] of [
    ['bogus', /unknown fault/],
    ['io-error', /needs device=ID/],
    ['io-error,device=d0,action=pause', /expects ignore, report, stop/],
    ['slow,command=x', /needs command=NAME,ms=N/],
    ['crash,after=-1', /expects milliseconds/],
    ['job-fail,colour=red', /unknown key 'colour'/],
  ] as const) {
    assert.throws(
      () => parseFaultSpec(spec),
      (err: unknown) => err instanceof QmpUsageError && msg.test(err.message),
    );
  }
});
