// Record and replay: a session recorded against a real QEMU 7.2, served back by the replay, gives
// the same client code the same results, events and all; a changed request is told where it differs.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { QmpClient } from '../../src/client/index.js';
import { QmpCommandError } from '../../src/errors/index.js';
import { readRecording, replaySession } from '../../src/replay/index.js';
import { TranscriptLog } from '../../src/trace/index.js';
import { requireQemu, startQemu } from '../helpers/qemu.js';

type Outcome = { ok: unknown } | { errorClass: string; desc: string } | { event: string; data: unknown; at: unknown };

/** The client code under test: what it sees, in order (events with their timestamps). */
async function scenario(qmp: QmpClient): Promise<Outcome[]> {
  const seen: Outcome[] = [];
  const run = async (name: string, args?: Record<string, unknown>): Promise<void> => {
    try {
      seen.push({ ok: await qmp.executeRaw(name, args) });
    } catch (err) {
      if (!(err instanceof QmpCommandError)) throw err;
      seen.push({ errorClass: err.errorClass, desc: err.desc });
    }
  };
  await run('query-status');
  const stopped = qmp.waitForEvent('STOP', { timeoutMs: 5000 });
  await run('stop');
  const stop = await stopped;
  seen.push({ event: stop.event, data: stop.data, at: stop.timestamp });
  await run('query-status');
  const resumed = qmp.waitForEvent('RESUME', { timeoutMs: 5000 });
  await run('cont');
  const resume = await resumed;
  seen.push({ event: resume.event, data: resume.data, at: resume.timestamp });
  await run('device_del', { id: 'nic0' });
  await run('query-chardev');
  await run('human-monitor-command', { 'command-line': 'info version' });
  await run('query-name');
  return seen;
}

test('a session recorded against QEMU replays to the same client code with the same results', async (t) => {
  if (!requireQemu(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-replay-'));
  const q = await startQemu();
  try {
    const path = join(dir, 'session.jsonl');
    const log = new TranscriptLog(path, 'recorded-vm');
    let recorded: Outcome[];
    try {
      const qmp = await QmpClient.connect(q.socketPath, { timeoutMs: 5000, label: 'recorded-vm' });
      recorded = await scenario(qmp);
      await qmp.close();
    } finally {
      log.close();
    }
    // The recording holds what was needed: QEMU's errors and data, and both events.
    assert.ok(recorded.some((o) => 'errorClass' in o && o.errorClass === 'DeviceNotFound'));
    assert.match(readFileSync(path, 'utf8'), /"event":"RESUME"/);

    const socket = join(dir, 'replay.sock');
    const replay = await replaySession(path, { listen: `unix:${socket},server=on,wait=off` });
    try {
      const qmp = await QmpClient.connect(socket, { timeoutMs: 5000 });
      assert.deepEqual(qmp.greeting.QMP.version.qemu, {
        major: 7,
        minor: 2,
        micro: qmp.greeting.QMP.version.qemu.micro,
      });
      const replayed = await scenario(qmp);
      await qmp.close();
      assert.deepEqual(replayed, recorded);
      assert.deepEqual(replay.mismatches, []);
    } finally {
      await replay.close();
    }

    // The same code with one argument changed: the error names the request, the line and the member.
    const recording = await readRecording(path);
    const step = recording.steps.find((s) => s.request['execute'] === 'device_del');
    assert.ok(step !== undefined);
    const replay2 = await replaySession(recording, { listen: `unix:${socket},server=on,wait=off` });
    try {
      const qmp = await QmpClient.connect(socket, { timeoutMs: 5000 });
      for (const name of ['query-status', 'stop', 'query-status', 'cont']) await qmp.executeRaw(name);
      await assert.rejects(qmp.executeRaw('device_del', { id: 'nic1' }), (e: unknown) => {
        assert.ok(e instanceof QmpCommandError);
        assert.equal(e.errorClass, 'GenericError');
        assert.equal(
          e.desc,
          `replay: request 5 differs from ${path} line ${step.line} at arguments.id: expected "nic0", got "nic1" (expected {"execute":"device_del","arguments":{"id":"nic0"},"id":1})`,
        );
        return true;
      });
      // The position stayed: the recorded request still gets its recorded answer.
      await assert.rejects(qmp.executeRaw('device_del', { id: 'nic0' }), (e: unknown) => {
        return e instanceof QmpCommandError && e.errorClass === 'DeviceNotFound';
      });
      await qmp.close();
      assert.equal(replay2.mismatches.length, 1);
      assert.equal(replay2.mismatches[0]?.line, step.line);
      assert.equal(replay2.mismatches[0]?.difference?.path, 'arguments.id');
    } finally {
      await replay2.close();
    }
  } finally {
    await q.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loosened: a client that pipelines what the recorded one sent in turn matches with ignoreIds', async (t) => {
  if (!requireQemu(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-replay-'));
  const q = await startQemu();
  try {
    const path = join(dir, 'session.jsonl');
    const log = new TranscriptLog(path, 'recorded-vm');
    const names = ['query-status', 'stop', 'query-status', 'cont', 'query-status'];
    const recorded: unknown[] = [];
    try {
      const qmp = await QmpClient.connect(q.socketPath, { timeoutMs: 5000, label: 'recorded-vm' });
      for (const name of names) recorded.push(await qmp.executeRaw(name));
      await qmp.close();
    } finally {
      log.close();
    }
    // Sequential: every request went out as id 1. Pipelined, the replayed client uses 1..5.
    const socket = join(dir, 'replay.sock');
    const strict = await replaySession(path, { listen: `unix:${socket},server=on,wait=off` });
    try {
      const qmp = await QmpClient.connect(socket, { timeoutMs: 5000 });
      const results = await Promise.allSettled(names.map((n) => qmp.executeRaw(n)));
      assert.equal(results[0]?.status, 'fulfilled');
      assert.equal(results[1]?.status, 'rejected');
      assert.match(
        String((results[1] as PromiseRejectedResult).reason),
        /request 2 differs .* at id: expected 1, got 2/,
      );
      await qmp.close();
    } finally {
      await strict.close();
    }
    const loose = await replaySession(path, {
      listen: `unix:${socket},server=on,wait=off`,
      ignoreIds: true,
      freshTimestamps: true,
    });
    try {
      const qmp = await QmpClient.connect(socket, { timeoutMs: 5000 });
      const resumed = qmp.waitForEvent('RESUME', { timeoutMs: 5000 });
      assert.deepEqual(await Promise.all(names.map((n) => qmp.executeRaw(n))), recorded);
      const resume = await resumed;
      const recordedResume = readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l.includes('"RESUME"'))
        .map((l) => JSON.parse(l).message.timestamp);
      assert.equal(recordedResume.length, 1);
      assert.notDeepEqual(resume.timestamp, recordedResume[0]);
      await qmp.close();
      assert.deepEqual(loose.mismatches, []);
    } finally {
      await loose.close();
    }
  } finally {
    await q.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
