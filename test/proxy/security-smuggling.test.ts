// Token-limit smuggling against real QEMU 7.2: a string argument whose re-encoding passes QEMU's
// 64 MiB token limit would be cut by QEMU and its tail read as a command of its own (`stop`). The
// proxy runs as its own process, as a user runs it; the library client is tried alone as well.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { QmpClient } from '../../src/client/index.js';
import { QmpLimitError } from '../../src/errors/index.js';
import type { UntypedCommands, UntypedEvents } from '../../src/protocol/index.js';
import { CliProcess, QMPKIT } from '../cli/helpers/run-cli.js';
import { requireQemu, startQemu } from '../helpers/qemu.js';

type Raw = QmpClient<UntypedCommands, UntypedEvents>;

/** 0x7F is one byte on the wire from the client and six (`\u007f`) once re-encoded: past 64 MiB. */
const N = 11_200_000;
const SMUGGLED = "{'execute':'stop'}";

/** A raw connection that collects CRLF-ended lines. */
function rawLines(path: string): Promise<{ sock: Socket; next: (what: string) => Promise<string> }> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    let buf = '';
    const waiters: Array<() => void> = [];
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      buf += d;
      for (const w of [...waiters]) w();
    });
    sock.once('error', reject);
    const next = (what: string): Promise<string> =>
      new Promise((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`no line with ${what}; got ${buf.slice(0, 500)}`)), 60_000);
        const check = (): void => {
          const lines = buf.split('\r\n');
          const i = lines.findIndex((l) => l.includes(what));
          if (i === -1) return;
          clearTimeout(timer);
          waiters.splice(waiters.indexOf(check), 1);
          buf = lines.slice(i + 1).join('\r\n');
          res(lines[i] ?? '');
        };
        waiters.push(check);
        check();
      });
    sock.once('connect', () => resolve({ sock, next }));
  });
}

test('through the proxy process: a read-only client cannot smuggle stop past QEMU 7.2 token limit', {
  timeout: 120000,
}, async (t) => {
  if (!requireQemu(t)) return;
  // A second monitor on the same QEMU, to ask it directly, not through the proxy.
  const side = mkdtempSync(join(tmpdir(), 'qmpkit-smuggle-'));
  const direct = join(side, 'direct.sock');
  const qemu = await startQemu({ machine: 'none', extraArgs: ['-qmp', `unix:${direct},server=on,wait=off`] });
  let proxy: CliProcess | undefined;
  const clients: Raw[] = [];
  let attacker: Socket | undefined;
  try {
    const rw = join(qemu.dir, 'rw.sock');
    const ro = join(qemu.dir, 'ro.sock');
    const auditFile = join(qemu.dir, 'audit.jsonl');
    writeFileSync(join(qemu.dir, 'policy.json'), JSON.stringify({ listeners: { [ro]: 'read-only' } }));
    proxy = new CliProcess(QMPKIT, [
      'proxy',
      '--upstream',
      qemu.socketPath,
      '--listen',
      rw,
      '--listen',
      ro,
      '--policy',
      join(qemu.dir, 'policy.json'),
      '--audit',
      auditFile,
    ]);
    await proxy.waitFor('stderr', 'qmpkit proxy: listening on');
    const owner = (await QmpClient.connect(rw, { timeoutMs: 10_000 })) as Raw;
    const reader = (await QmpClient.connect(ro, { timeoutMs: 10_000 })) as Raw;
    clients.push(owner, reader);

    const a = await rawLines(ro);
    attacker = a.sock;
    await a.next('"QMP"');
    a.sock.write('{"execute":"qmp_capabilities","id":"cap"}\n');
    await a.next('"cap"');
    const head = '{"execute":"query-status","id":"x","arguments":{"x":"';
    a.sock.write(head);
    a.sock.write(Buffer.alloc(N, 0x7f));
    a.sock.write(`${SMUGGLED}"}}\n`);
    // Meanwhile the other clients' commands each get their own reply.
    const others = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 === 0 ? owner : reader)
          .executeRaw('query-name')
          .then(() => (i % 2 === 0 ? owner : reader).executeRaw('query-status')),
      ),
    );
    for (const r of others) assert.deepEqual(r, { status: 'running', singlestep: false, running: true });

    const refused = await a.next('"id": "x"');
    assert.match(
      refused,
      /"error": \{"class": "GenericError", "desc": "query-status: the request's JSON tokens take at least \d+ bytes as encoded; QEMU reads less than 67108864 in one message \(maxTokenBytes\); nothing was sent/,
    );
    // The attacker is answered, not disconnected, and the VM still runs.
    a.sock.write('{"execute":"query-status","id":"after"}\n');
    assert.match(await a.next('"id": "after"'), /"status": "running"/);
    assert.deepEqual(await owner.executeRaw('query-status'), { status: 'running', singlestep: false, running: true });
    assert.equal(qemu.proc.exitCode, null);
    const own = (await QmpClient.connect(direct, { timeoutMs: 10_000 })) as Raw;
    clients.push(own);
    assert.deepEqual(await own.executeRaw('query-status'), { status: 'running', singlestep: false, running: true });

    const records = readFileSync(auditFile, 'utf8')
      .trim()
      .split('\n')
      .map(
        (l) => JSON.parse(l) as { command: string; outcome: string; desc?: string; arguments: Record<string, unknown> },
      );
    const rec = records.find((r) => r.outcome === 'refused');
    assert.ok(rec, JSON.stringify(records.map((r) => r.outcome)));
    assert.equal(rec.command, 'query-status');
    assert.match(rec.desc ?? '', /maxTokenBytes.*nothing was sent/);
    assert.match(String(rec.arguments['x']), new RegExp(`\\(${N + SMUGGLED.length} chars\\)`));
    assert.ok(!records.some((r) => r.command === 'stop'));
  } finally {
    attacker?.destroy();
    await Promise.all(clients.map((c) => c.close()));
    if (proxy) await proxy.stop();
    await qemu.stop();
    rmSync(side, { recursive: true, force: true });
  }
});

test('library client alone: executeRaw with a string past QEMU 7.2 token limit is refused, nothing sent', {
  timeout: 60000,
}, async (t) => {
  if (!requireQemu(t)) return;
  const qemu = await startQemu({ machine: 'none' });
  const c = (await QmpClient.connect(qemu.socketPath, { timeoutMs: 10_000 })) as Raw;
  try {
    const value = `${'\x7f'.repeat(N)}${SMUGGLED}`;
    const err = await c.executeRaw('qom-set', { path: '/machine', property: 'x', value }).then(
      () => assert.fail('sent'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof QmpLimitError, String(err));
    assert.equal(err.code, 'QMP_ERR_LIMIT');
    assert.match(
      err.message,
      /^qom-set: the request's JSON tokens take \d+ bytes as encoded; QEMU reads less than 67108864 in one message \(maxTokenBytes\); nothing was sent/,
    );
    assert.deepEqual(await c.executeRaw('query-status'), { status: 'running', singlestep: false, running: true });
  } finally {
    await c.close();
    await qemu.stop();
  }
});
