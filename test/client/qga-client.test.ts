// QgaClient's session rules over an in-memory duplex, with the agent's side scripted by the test.
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import type { Duplex } from 'node:stream';
import { test } from 'node:test';
import { QmpCommandError, type QmpError } from '../../src/errors/index.js';
import { QGA_NO_REPLY_COMMANDS, QgaClient, type QgaClientOptions } from '../../src/qga/index.js';
import { QapiSchema } from '../../src/schema/index.js';
import { duplexPair } from '../helpers/duplex-pair.js';
import { rejectsWith } from '../helpers/qga-cases.js';

const ROOT = resolve(import.meta.dirname, '../../..');

/** The agent's end: each request as written (a leading 0xFF kept apart), and a way to answer. */
class ScriptedAgent {
  readonly #side: Duplex;
  readonly #requests: Array<{ sentinel: boolean; msg: Record<string, unknown> }> = [];
  readonly #waiters: Array<() => void> = [];
  #buf = Buffer.alloc(0);

  constructor(side: Duplex) {
    this.#side = side;
    // Like a socket peer: when the client ends its side, the agent closes too.
    side.on('end', () => side.end());
    side.on('data', (c: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, c]);
      for (let nl = this.#buf.indexOf(10); nl >= 0; nl = this.#buf.indexOf(10)) {
        let line = this.#buf.subarray(0, nl);
        this.#buf = this.#buf.subarray(nl + 1);
        const sentinel = line[0] === 0xff;
        if (sentinel) line = line.subarray(1);
        this.#requests.push({ sentinel, msg: JSON.parse(line.toString()) as Record<string, unknown> });
        for (const w of this.#waiters.splice(0)) w();
      }
    });
  }

  /** Resolves with the next request (in order), within a deadline. */
  async next(): Promise<{ sentinel: boolean; msg: Record<string, unknown> }> {
    const deadline = Date.now() + 5000;
    while (this.#requests.length === 0) {
      if (Date.now() > deadline) throw new Error('no request within 5 s');
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        setTimeout(r, 200);
      });
    }
    return this.#requests.shift()!;
  }

  get queued(): number {
    return this.#requests.length;
  }

  send(bytes: string | Buffer): void {
    this.#side.write(bytes);
  }

  /** Answers the next request, which must be a delimited sync, as qemu-ga does. */
  async answerSync(stale = ''): Promise<number> {
    const { sentinel, msg } = await this.next();
    assert.equal(sentinel, true, 'a sync is preceded by 0xFF');
    assert.equal(msg['execute'], 'guest-sync-delimited');
    const id = (msg['arguments'] as { id: number }).id;
    this.send(Buffer.concat([Buffer.from(stale), Buffer.from(`\xff{"return": ${id}}\n`, 'latin1')]));
    return id;
  }

  end(): void {
    this.#side.end();
  }
}

async function connected(options: QgaClientOptions = {}): Promise<{ qga: QgaClient; agent: ScriptedAgent }> {
  const [a, b] = duplexPair();
  const agent = new ScriptedAgent(b);
  const pending = QgaClient.connect(a, { timeoutMs: 5000, ...options });
  if (options.syncOnConnect !== false) await agent.answerSync();
  return { qga: await pending, agent };
}

test('connect syncs: 0xFF then guest-sync-delimited; stale data, stale sentinels and other ids are discarded', async () => {
  const [a, b] = duplexPair();
  const agent = new ScriptedAgent(b);
  const pending = QgaClient.connect(a, { timeoutMs: 5000 });
  // A previous client's reply, the agent's complaint about the 0xFF, a half reply, then an old sync.
  await agent.answerSync(
    '{"return": {}}\n{"error": {"class": "GenericError", "desc": "JSON parse error, stray \'\\uFFFD\'"}}\n{"return": {"na\xff{"return": 1}\n',
  );
  const qga = await pending;
  const ping = qga.execute('guest-ping');
  assert.deepEqual((await agent.next()).msg, { execute: 'guest-ping' });
  agent.send('{"return": {}}\n');
  assert.deepEqual(await ping, {});
  await qga.close();
});

test('an agent without guest-sync-delimited: the client falls back to guest-sync and keeps using it', async () => {
  const [a, b] = duplexPair();
  const agent = new ScriptedAgent(b);
  const pending = QgaClient.connect(a, { timeoutMs: 5000 });
  assert.equal((await agent.next()).msg['execute'], 'guest-sync-delimited');
  agent.send(
    '{"error": {"class": "CommandNotFound", "desc": "The command guest-sync-delimited has not been found"}}\n',
  );
  const sync = await agent.next();
  assert.equal(sync.msg['execute'], 'guest-sync');
  agent.send(`{"return": ${(sync.msg['arguments'] as { id: number }).id}}\n`);
  const qga = await pending;
  const late = qga.execute('guest-ping', undefined, { timeoutMs: 50 });
  await agent.next();
  await rejectsWith(late, 'QMP_ERR_TIMEOUT');
  const info = qga.execute('guest-info');
  const again = await agent.next();
  assert.equal(again.msg['execute'], 'guest-sync');
  agent.send(`{"return": {}}\n{"return": ${(again.msg['arguments'] as { id: number }).id}}\n`);
  assert.equal((await agent.next()).msg['execute'], 'guest-info');
  agent.send('{"return": {"version": "1.0", "supported_commands": []}}\n');
  assert.equal((await info).version, '1.0');
  await qga.close();
});

test('one command in flight: the next is written only after the answer; errors keep class and desc', async () => {
  const { qga, agent } = await connected();
  const first = qga.execute('guest-exec', { path: '/bin/true' });
  const second = qga.execute('guest-get-time');
  assert.equal(qga.pendingCount, 2);
  assert.equal((await agent.next()).msg['execute'], 'guest-exec');
  assert.equal(agent.queued, 0);
  agent.send('{"error": {"class": "CommandNotFound", "desc": "Command guest-exec has been disabled"}}\n');
  const err = await rejectsWith(first, 'QMP_ERR_COMMAND');
  assert.ok(err instanceof QmpCommandError);
  assert.equal(err.errorClass, 'CommandNotFound');
  assert.equal(err.desc, 'Command guest-exec has been disabled');
  assert.equal((await agent.next()).msg['execute'], 'guest-get-time');
  agent.send('{"return": 1795953676632726000}\n');
  assert.equal(await second, 1795953676632726000n);
  await qga.close();
});

test('a timeout makes the next call sync first, and the late reply is discarded', async () => {
  const { qga, agent } = await connected();
  await rejectsWith(qga.execute('guest-get-osinfo', undefined, { timeoutMs: 30 }), 'QMP_ERR_TIMEOUT');
  assert.equal((await agent.next()).msg['execute'], 'guest-get-osinfo');
  const ping = qga.execute('guest-ping');
  await agent.answerSync('{"return": {"id": "late osinfo"}}\n');
  assert.equal((await agent.next()).msg['execute'], 'guest-ping');
  agent.send('{"return": {}}\n');
  assert.deepEqual(await ping, {});
  await qga.close();
});

test('an aborted call also makes the next call sync first', async () => {
  const { qga, agent } = await connected();
  const ac = new AbortController();
  const p = qga.execute('guest-ping', undefined, { signal: ac.signal });
  await agent.next();
  ac.abort();
  await rejectsWith(p, 'QMP_ERR_ABORTED');
  const ping = qga.execute('guest-ping');
  await agent.answerSync('{"return": {}}\n');
  await agent.next();
  agent.send('{"return": {}}\n');
  assert.deepEqual(await ping, {});
  await qga.close();
});

test('guest-shutdown and guest-suspend-* resolve once written; the next call syncs past a refusal', async () => {
  const { qga, agent } = await connected();
  assert.equal(await qga.execute('guest-shutdown', { mode: 'powerdown' }), undefined);
  assert.deepEqual((await agent.next()).msg, { execute: 'guest-shutdown', arguments: { mode: 'powerdown' } });
  const suspend = qga.execute('guest-suspend-ram');
  await agent.answerSync(
    '{"error": {"class": "CommandNotFound", "desc": "Command guest-shutdown has been disabled"}}\n',
  );
  assert.deepEqual((await agent.next()).msg, { execute: 'guest-suspend-ram' });
  assert.equal(await suspend, undefined);
  const ping = qga.execute('guest-ping');
  await agent.answerSync();
  assert.equal((await agent.next()).msg['execute'], 'guest-ping');
  agent.send('{"return": {}}\n');
  assert.deepEqual(await ping, {});
  await qga.close();
});

test('QGA_NO_REPLY_COMMANDS are exactly the schema commands with success-response false', () => {
  const schema = QapiSchema.fromQapiFile(resolve(ROOT, 'data/qga/qapi-schema.json'));
  const noReply = schema
    .commands()
    .filter((c) => !c.successResponse)
    .map((c) => c.name)
    .sort();
  assert.deepEqual([...QGA_NO_REPLY_COMMANDS].sort(), noReply);
});

test('no agent answering: connect rejects with QMP_ERR_CONNECT_TIMEOUT saying why', async () => {
  const [a, b] = duplexPair();
  b.resume();
  b.on('end', () => b.end());
  const err = await rejectsWith(QgaClient.connect(a, { timeoutMs: 50 }), 'QMP_ERR_CONNECT_TIMEOUT');
  assert.match(err.message, /did not answer guest-sync-delimited within \d+ ms \(is qemu-ga running in the guest/);
});

test('syncOnConnect false: a call times out while no agent runs, and the next call syncs when it is back', async () => {
  const { qga, agent } = await connected({ syncOnConnect: false });
  const err = await rejectsWith(qga.execute('guest-ping', undefined, { timeoutMs: 30 }), 'QMP_ERR_TIMEOUT');
  assert.match(err.message, /did not answer guest-sync-delimited/);
  await agent.next();
  const ping = qga.execute('guest-ping', undefined, { timeoutMs: 5000 });
  await agent.answerSync();
  await agent.next();
  agent.send('{"return": {}}\n');
  assert.deepEqual(await ping, {});
  await qga.close();
});

test('maxQueuedCommands: at the limit calls wait, one past is refused and the session goes on', async () => {
  const { qga, agent } = await connected({ maxQueuedCommands: 2 });
  const calls = [qga.execute('guest-ping'), qga.execute('guest-ping'), qga.execute('guest-ping')];
  const refused = qga.execute('guest-ping');
  const err = await rejectsWith(refused, 'QMP_ERR_LIMIT');
  assert.equal((err as QmpError & { limit: string }).limit, 'maxQueuedCommands');
  for (let i = 0; i < 3; i++) {
    await agent.next();
    agent.send('{"return": {}}\n');
  }
  for (const c of calls) assert.deepEqual(await c, {});
  await qga.close();
  const [a] = duplexPair();
  const bad = await rejectsWith(QgaClient.connect(a, { maxQueuedCommands: 0 }), 'QMP_ERR_USAGE');
  assert.match(bad.message, /maxQueuedCommands must be an integer >= 1, got 0/);
});

test('bytes nobody asked for: the next call syncs first; a stray sentinel discards the reply after it', async () => {
  const { qga, agent } = await connected();
  agent.send('garbage\n{"return": {}}\n');
  const ping = qga.execute('guest-ping');
  await agent.answerSync();
  await agent.next();
  // While guest-ping is in flight: a stale delimited sync reply, then the real answer.
  agent.send(Buffer.from('\xff{"return": 77}\n{"return": {}}\n', 'latin1'));
  assert.deepEqual(await ping, {});
  const ping2 = qga.execute('guest-ping');
  await agent.answerSync();
  await agent.next();
  agent.send('{"return": {}}\n');
  assert.deepEqual(await ping2, {});
  await qga.close();
});

test('the agent goes away mid-command: QMP_ERR_DISCONNECTED for it and the queued ones; closed says why', async () => {
  const { qga, agent } = await connected();
  const inFlight = qga.execute('guest-get-osinfo');
  const queued = qga.execute('guest-ping');
  await agent.next();
  agent.end();
  const err = await rejectsWith(inFlight, 'QMP_ERR_DISCONNECTED');
  assert.match(err.message, /while guest-get-osinfo was in flight; it may or may not have run/);
  await rejectsWith(queued, 'QMP_ERR_DISCONNECTED');
  assert.equal((await qga.closed)?.code, 'QMP_ERR_DISCONNECTED');
  await rejectsWith(qga.execute('guest-ping'), 'QMP_ERR_CLOSED');
});

test('close rejects waiting calls with QMP_ERR_CLOSED and resolves closed with undefined', async () => {
  const { qga, agent } = await connected();
  const p = rejectsWith(qga.execute('guest-ping'), 'QMP_ERR_CLOSED');
  await agent.next();
  await qga.close();
  await p;
  assert.equal(await qga.closed, undefined);
  assert.equal(qga.state, 'closed');
  await qga.close();
});

test('exec: guest-exec, then guest-exec-status until exited; output decoded from base64', async () => {
  const { qga, agent } = await connected();
  await rejectsWith(qga.exec('/bin/echo', { pollIntervalMs: -1 }), 'QMP_ERR_USAGE');
  // pollIntervalMs 0 (the edge) polls without waiting.
  const run = qga.exec('/bin/echo', { args: ['hi'], input: 'in', pollIntervalMs: 0, timeoutMs: 5000 });
  assert.deepEqual((await agent.next()).msg, {
    execute: 'guest-exec',
    arguments: { path: '/bin/echo', 'capture-output': true, arg: ['hi'], 'input-data': 'aW4=' },
  });
  agent.send('{"return": {"pid": 42}}\n');
  assert.deepEqual((await agent.next()).msg, { execute: 'guest-exec-status', arguments: { pid: 42 } });
  agent.send('{"return": {"exited": false}}\n');
  await agent.next();
  agent.send(
    `{"return": {"exitcode": 3, "out-data": "${Buffer.from('hi\n').toString('base64')}", "err-data": "${Buffer.from('é').toString('base64')}", "exited": true}}\n`,
  );
  const r = await run;
  assert.equal(r.pid, 42);
  assert.equal(r.exitCode, 3);
  assert.equal(r.signal, undefined);
  assert.equal(r.stdout, 'hi\n');
  assert.equal(r.stderr, 'é');
  assert.deepEqual([...r.stdoutBytes], [...Buffer.from('hi\n')]);
  assert.equal(r.stdoutTruncated, false);
  await qga.close();
});
