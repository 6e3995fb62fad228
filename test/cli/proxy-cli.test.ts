// `qmpkit proxy` as a user runs it: in front of a real QEMU 7.2 that serves QMP over TLS, with a
// policy, an audit log and a per-client limit; and its usage errors.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { QmpClient } from '../../src/client/index.js';
import { requireQemu, startQemuAt } from '../helpers/qemu.js';
import { freePort, makeServerCerts, startTlsQemu, waitListening } from '../helpers/tls.js';
import { CliProcess, QMPKIT, qmpkit } from './helpers/run-cli.js';

test('qmpkit proxy: TLS upstream, policy per listener, audit log, one-shot commands through it', {
  timeout: 60000,
}, async (t) => {
  if (!requireQemu(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-proxy-cli-'));
  let qemu: ChildProcess | undefined;
  let proxy: CliProcess | undefined;
  try {
    makeServerCerts(dir);
    const port = await freePort();
    qemu = startTlsQemu(dir, port);
    await waitListening(port);
    const rw = join(dir, 'rw.sock');
    const ro = join(dir, 'ro.sock');
    writeFileSync(join(dir, 'policy.json'), JSON.stringify({ listeners: { [ro]: 'read-only' } }));
    proxy = new CliProcess(QMPKIT, [
      'proxy',
      '--upstream',
      `tls:localhost:${port}`,
      '--upstream-tls-ca',
      join(dir, 'ca-cert.pem'),
      '--listen',
      `unix:${rw}`,
      '--listen',
      ro,
      '--policy',
      join(dir, 'policy.json'),
      '--audit',
      join(dir, 'audit.jsonl'),
      '--max-pending',
      '4',
    ]);
    await proxy.waitFor('stderr', 'qmpkit proxy: listening on');
    const stop = await qmpkit(['exec', rw, 'stop']);
    assert.equal(stop.code, 0, stop.stderr);
    const denied = await qmpkit(['exec', ro, 'cont']);
    assert.equal(denied.code, 1);
    assert.match(
      denied.stderr,
      /GenericError: The command cont is not allowed by this proxy's policy \(profile 'read-only'\)/,
    );
    const status = await qmpkit(['exec', ro, 'query-status']);
    assert.equal(status.code, 0, status.stderr);
    assert.equal(JSON.parse(status.stdout).status, 'paused');
    // Pipelined past --max-pending: all answered, in order.
    const c = await QmpClient.connect(rw);
    const names = await Promise.all(Array.from({ length: 12 }, () => c.execute('query-name')));
    assert.equal(names.length, 12);
    await c.close();
    const audit = readFileSync(join(dir, 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { command: string; outcome: string; client: string; time: string });
    assert.deepEqual(
      audit.slice(0, 3).map((r) => [r.command, r.outcome]),
      [
        ['stop', 'ok'],
        ['cont', 'denied'],
        ['query-status', 'ok'],
      ],
    );
    assert.ok(audit.every((r) => typeof r.client === 'string' && !Number.isNaN(Date.parse(r.time))));
    const done = await proxy.stop();
    assert.equal(done.code, 0, done.stderr);
  } finally {
    proxy?.kill();
    qemu?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('qmpkit proxy --wait-upstream: starts before QEMU, logs QEMU lost and back, serves clients again', {
  timeout: 60000,
}, async (t) => {
  if (!requireQemu(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-proxy-cli-'));
  const qsock = join(dir, 'qemu.sock');
  const psock = join(dir, 'p.sock');
  let qemu: ReturnType<typeof startQemuAt> | undefined;
  let proxy: CliProcess | undefined;
  try {
    proxy = new CliProcess(QMPKIT, ['proxy', '--upstream', qsock, '--listen', psock, '--wait-upstream']);
    await proxy.waitFor('stderr', `qmpkit proxy: QEMU is not reachable at ${qsock} yet`);
    await proxy.waitFor('stderr', 'qmpkit proxy: listening on');
    // Clients are refused while QEMU is not there.
    const early = await qmpkit(['exec', psock, 'query-status']);
    assert.equal(early.code, 3, early.stderr);
    qemu = startQemuAt(qsock);
    await proxy.waitFor('stderr', `qmpkit proxy: connected to QEMU at ${qsock}`);
    const st = await qmpkit(['exec', psock, 'query-status']);
    assert.equal(st.code, 0, st.stderr);
    assert.match(proxy.stderr, /client .*p\.sock#\d+ connected \(profile 'full'\)/);
    qemu.kill();
    await proxy.waitFor('stderr', `qmpkit proxy: lost QEMU at ${qsock}`);
    qemu = startQemuAt(qsock);
    await proxy.waitFor('stderr', `qmpkit proxy: reconnected to QEMU at ${qsock}`);
    const again = await qmpkit(['exec', psock, 'query-status']);
    assert.equal(again.code, 0, again.stderr);
    const done = await proxy.stop();
    assert.equal(done.code, 0, done.stderr);
  } finally {
    proxy?.kill();
    qemu?.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('qmpkit proxy --quiet logs nothing but its errors', { timeout: 60000 }, async (t) => {
  if (!requireQemu(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-proxy-cli-'));
  const qsock = join(dir, 'qemu.sock');
  const qemu = startQemuAt(qsock);
  let proxy: CliProcess | undefined;
  try {
    proxy = new CliProcess(QMPKIT, [
      'proxy',
      '--upstream',
      qsock,
      '--listen',
      join(dir, 'p.sock'),
      '--wait-upstream',
      '-q',
    ]);
    // Without the log there is no line to wait for: poll the listener.
    const deadline = Date.now() + 15000;
    for (;;) {
      const r = await qmpkit(['exec', join(dir, 'p.sock'), 'query-status']);
      if (r.code === 0) break;
      if (Date.now() > deadline) assert.fail(`proxy never served: ${r.stderr}`);
      await new Promise((res) => setTimeout(res, 50));
    }
    const done = await proxy.stop();
    assert.equal(done.code, 0);
    assert.equal(done.stderr, '');
  } finally {
    proxy?.kill();
    qemu.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('qmpkit proxy: usage errors exit 2 before anything listens', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-proxy-cli-'));
  try {
    const cases: Array<[string[], RegExp]> = [
      [['proxy', '--listen', join(dir, 'a.sock')], /--upstream is required/],
      [['proxy', '--upstream', join(dir, 'q.sock')], /--listen is required/],
      [
        ['proxy', '--upstream', join(dir, 'q.sock'), '--listen', join(dir, 'a.sock'), '--upstream-tls-ca', 'x.pem'],
        /--upstream-tls-\* options need a tls:HOST:PORT upstream/,
      ],
      [
        [
          'proxy',
          '--upstream',
          'tls:localhost:1',
          '--listen',
          join(dir, 'a.sock'),
          '--upstream-tls-ca',
          join(dir, 'no.pem'),
        ],
        /cannot read .*no\.pem: ENOENT/,
      ],
      [
        ['proxy', '--upstream', join(dir, 'q.sock'), '--listen', join(dir, 'a.sock'), '--max-pending', '0'],
        /max-pending/,
      ],
    ];
    writeFileSync(join(dir, 'policy.json'), JSON.stringify({ listeners: { [join(dir, 'typo.sock')]: 'read-only' } }));
    cases.push([
      [
        'proxy',
        '--upstream',
        join(dir, 'q.sock'),
        '--listen',
        join(dir, 'a.sock'),
        '--policy',
        join(dir, 'policy.json'),
      ],
      /^qmpkit proxy: the policy names listener .*typo\.sock, which is not one of the --listen addresses\n$/,
    ]);
    for (const [args, message] of cases) {
      const r = await qmpkit(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
