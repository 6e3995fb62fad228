// The guest agent client's cases, run against the real qemu-ga and against the simulated agent: the
// same assertions on both prove the simulator answers as the agent does. Read-only and blocked
// commands only (see QGA_BLOCKED_COMMANDS in ./qga.ts).
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { type TestContext, test } from 'node:test';
import { QmpCommandError, QmpError } from '../../src/errors/index.js';
import { QgaClient } from '../../src/qga/index.js';
import { QapiSchema } from '../../src/schema/index.js';
import { type QmpTraceMessage, TRACE_CHANNELS } from '../../src/trace/index.js';

const ROOT = resolve(import.meta.dirname, '../../..');

/** One agent under test: its socket, and the faults a test may cause. */
export interface AgentUnderTest {
  readonly socketPath: string;
  /** The agent stops answering (SIGSTOP for the real one). */
  pause(): void;
  /** It answers again, and works through what it was sent meanwhile (SIGCONT). */
  resume(): void;
  /** The agent dies: its connection closes. */
  kill(): void;
  stop(): Promise<void>;
}

/** Awaits `p` and returns the `QmpError` it rejects with, failing unless its code is `code`. */
export async function rejectsWith(p: Promise<unknown>, code: string): Promise<QmpError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof QmpError, String(e));
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`resolved, expected ${code}`);
}

/** A raw socket that has written `bytes` and received the first bytes of the agent's answer. */
function dirtySocket(path: string, bytes: string): Promise<import('node:net').Socket> {
  return new Promise((resolveSocket, reject) => {
    const s = connect(path);
    const timer = setTimeout(() => reject(new Error('the agent did not answer the stale request within 10 s')), 10_000);
    s.once('error', reject);
    s.once('connect', () => s.write(bytes));
    s.once('readable', () => {
      clearTimeout(timer);
      resolveSocket(s);
    });
  });
}

/** Registers the shared cases; `start` returns a fresh agent for each, or undefined to skip. */
export function qgaClientCases(what: string, start: (t: TestContext) => Promise<AgentUnderTest | undefined>): void {
  async function withAgent(t: TestContext, body: (agent: AgentUnderTest) => Promise<void>): Promise<void> {
    const agent = await start(t);
    if (agent === undefined) return;
    try {
      await body(agent);
    } finally {
      await agent.stop();
    }
  }

  test(`${what}: connect syncs; guest-ping, guest-get-osinfo, guest-network-get-interfaces`, (t) =>
    withAgent(t, async (agent) => {
      const sent: unknown[] = [];
      const onOut = (m: unknown): void => {
        const t = m as QmpTraceMessage;
        if (t.source === 'qga' && t.connection === agent.socketPath) sent.push(t.message);
      };
      subscribe(TRACE_CHANNELS.messageOut, onOut);
      const qga = await QgaClient.connect(agent.socketPath, { timeoutMs: 10_000, commandTimeoutMs: 10_000 });
      unsubscribe(TRACE_CHANNELS.messageOut, onOut);
      try {
        // The sync came first, with an integer id the agent echoed.
        assert.equal(sent.length, 1);
        assert.match(JSON.stringify(sent[0]), /^\{"execute":"guest-sync-delimited","arguments":\{"id":\d+\}\}$/);
        assert.deepEqual(await qga.execute('guest-ping'), {});
        const os = await qga.execute('guest-get-osinfo');
        assert.equal(typeof os.id, 'string');
        assert.equal(typeof os['kernel-release'], 'string');
        const ifs = await qga.execute('guest-network-get-interfaces');
        const lo = ifs.find((i) => i.name === 'lo');
        assert.ok(lo, 'a loopback interface');
        assert.ok(lo['ip-addresses']?.some((a) => a['ip-address'] === '127.0.0.1' && a.prefix === 8));
      } finally {
        await qga.close();
      }
    }));

  test(`${what}: guest-info lists the generated types' commands, blocked ones disabled`, (t) =>
    withAgent(t, async (agent) => {
      const qga = await QgaClient.connect(agent.socketPath, { timeoutMs: 10_000, commandTimeoutMs: 10_000 });
      try {
        const info = await qga.execute('guest-info');
        assert.match(info.version, /^7\.2\./);
        const listed = info.supported_commands.map((c) => c.name).sort();
        const schema = QapiSchema.fromQapiFile(resolve(ROOT, 'data/qga/qapi-schema.json'));
        assert.deepEqual(
          listed,
          schema
            .commands()
            .map((c) => c.name)
            .sort(),
        );
        const generated = readFileSync(resolve(ROOT, 'src/qapi/qga/index.ts'), 'utf8');
        for (const name of listed) assert.ok(generated.includes(`  '${name}': { args:`), `${name} in the types`);
        const shutdown = info.supported_commands.find((c) => c.name === 'guest-shutdown');
        assert.deepEqual(shutdown, { enabled: false, name: 'guest-shutdown', 'success-response': false });
        assert.equal(info.supported_commands.find((c) => c.name === 'guest-ping')?.enabled, true);
      } finally {
        await qga.close();
      }
    }));

  test(`${what}: a blocked command's error; blocked guest-shutdown resolves when written, the next call syncs past its refusal`, (t) =>
    withAgent(t, async (agent) => {
      const qga = await QgaClient.connect(agent.socketPath, { timeoutMs: 10_000, commandTimeoutMs: 10_000 });
      try {
        const err = await rejectsWith(qga.execute('guest-file-open', { path: '/nonexistent' }), 'QMP_ERR_COMMAND');
        assert.ok(err instanceof QmpCommandError);
        assert.equal(err.errorClass, 'CommandNotFound');
        assert.equal(err.desc, 'Command guest-file-open has been disabled');
        const unknown = await rejectsWith(qga.executeRaw('guest-nope'), 'QMP_ERR_COMMAND');
        assert.equal((unknown as QmpCommandError).desc, 'The command guest-nope has not been found');
        const bad = await rejectsWith(qga.executeRaw('guest-ping', { x: 1 }), 'QMP_ERR_COMMAND');
        assert.equal((bad as QmpCommandError).desc, "Parameter 'x' is unexpected");
        assert.equal(await qga.execute('guest-shutdown'), undefined);
        assert.deepEqual(await qga.execute('guest-ping'), {});
      } finally {
        await qga.close();
      }
    }));

  test(`${what}: stale bytes in the channel before the client connects are discarded by the sync`, (t) =>
    withAgent(t, async (agent) => {
      // A whole request whose answer is waiting in the socket, then half of another.
      const socket = await dirtySocket(agent.socketPath, '{"execute":"guest-ping"}\n{"execute":"guest-get-time"');
      const qga = await QgaClient.connect(socket, { timeoutMs: 10_000, commandTimeoutMs: 10_000 });
      try {
        const os = await qga.execute('guest-get-osinfo');
        assert.equal(typeof os.id, 'string', 'the stale {} was not taken for the answer');
      } finally {
        await qga.close();
      }
    }));

  test(`${what}: a timeout while the agent does not answer, and recovery when it does`, (t) =>
    withAgent(t, async (agent) => {
      const qga = await QgaClient.connect(agent.socketPath, { timeoutMs: 10_000 });
      try {
        agent.pause();
        await rejectsWith(qga.execute('guest-ping', undefined, { timeoutMs: 200 }), 'QMP_ERR_TIMEOUT');
        agent.resume();
        const os = await qga.execute('guest-get-osinfo', undefined, { timeoutMs: 10_000 });
        assert.equal(typeof os.id, 'string', 'the late {} of guest-ping was discarded');
      } finally {
        await qga.close();
      }
    }));

  test(`${what}: the agent dies mid-command: QMP_ERR_DISCONNECTED`, (t) =>
    withAgent(t, async (agent) => {
      const qga = await QgaClient.connect(agent.socketPath, { timeoutMs: 10_000 });
      agent.pause();
      const inFlight = qga.execute('guest-get-osinfo');
      agent.kill();
      const err = await rejectsWith(inFlight, 'QMP_ERR_DISCONNECTED');
      assert.match(err.message, /guest-get-osinfo was in flight/);
      assert.equal((await qga.closed)?.code, 'QMP_ERR_DISCONNECTED');
    }));
}
