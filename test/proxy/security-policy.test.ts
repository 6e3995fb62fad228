// Policy bypasses tried through the proxy, in front of the simulator: allow-list profiles, host
// paths in arguments, transaction actions one by one, HMP, programs; the audit log's arguments,
// capped and redacted; the warning for a listener on every interface.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { QmpClient } from '../../src/client/index.js';
import { QmpCommandError } from '../../src/errors/index.js';
import type { UntypedCommands, UntypedEvents } from '../../src/protocol/index.js';
import {
  type QmpAuditRecord,
  QmpProxy,
  type QmpProxyNotice,
  type QmpProxyOptions,
  QmpProxyPolicy,
  type QmpProxyPolicyFile,
  REDACTED,
} from '../../src/proxy/index.js';
import { startSimulator } from '../../src/simulator/index.js';

type Raw = QmpClient<UntypedCommands, UntypedEvents>;

interface Fixture {
  dir: string;
  client: Raw;
  audit: QmpAuditRecord[];
}

async function withPolicy(
  policy: (dir: string) => QmpProxyPolicyFile,
  options: Partial<QmpProxyOptions>,
  body: (fx: Fixture) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-spol-'));
  const sim = await startSimulator({
    argv: ['-machine', 'none', '-qmp', `unix:${join(dir, 'q.sock')},server=on,wait=off`],
  });
  const audit: QmpAuditRecord[] = [];
  let proxy: QmpProxy | undefined;
  let client: Raw | undefined;
  try {
    proxy = await QmpProxy.start({
      upstream: join(dir, 'q.sock'),
      listen: [join(dir, 'p.sock')],
      policy: new QmpProxyPolicy(policy(dir)),
      audit: (r) => audit.push(r),
      ...options,
    });
    client = await QmpClient.connect<UntypedCommands, UntypedEvents>(join(dir, 'p.sock'), { timeoutMs: 10000 });
    await body({ dir, client, audit });
  } finally {
    await client?.close();
    await proxy?.close();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The proxy refused the command (QEMU-shaped GenericError) with a desc matching `re`. */
async function denied(c: Raw, command: string, args: Record<string, unknown>, re: RegExp): Promise<void> {
  await assert.rejects(
    c.executeRaw(command, args),
    (e: unknown) => e instanceof QmpCommandError && e.errorClass === 'GenericError' && re.test(e.desc),
    `${command} ${JSON.stringify(args)}`,
  );
}

/** The proxy forwarded the command: whatever QEMU said, it was not the proxy's policy. */
async function forwarded(c: Raw, command: string, args: Record<string, unknown>): Promise<void> {
  try {
    await c.executeRaw(command, args);
  } catch (e) {
    assert.ok(e instanceof QmpCommandError, String(e));
    assert.doesNotMatch(e.desc, /proxy's policy/, `${command} ${JSON.stringify(args)}`);
  }
}

const operator = (dir: string): QmpProxyPolicyFile => ({
  default: 'operator',
  profiles: { operator: { allow: ['query-*', 'qom-get', 'qom-list', 'screendump'], paths: [join(dir, 'screens')] } },
});

test('operator (allow-list): what it allows and what it refuses', { timeout: 60000 }, () =>
  withPolicy(operator, {}, async ({ dir, client }) => {
    assert.equal(((await client.executeRaw('query-status', {})) as { status: string }).status, 'running');
    for (const [cmd, args] of [
      ['dump-guest-memory', { paging: false, protocol: `file:${join(dir, 'screens', 'ram')}` }],
      ['chardev-add', { id: 'c', backend: { type: 'file', data: { out: join(dir, 'x') } } }],
      ['netdev_add', { type: 'user', id: 'n' }],
      ['inject-nmi', {}],
      ['transaction', { actions: [] }],
      ['qom-set', { path: '/machine', property: 'x', value: 1 }],
      ['drive-backup', { device: 'd', target: join(dir, 'screens', 'b'), sync: 'full' }],
      ['human-monitor-command', { 'command-line': 'info status' }],
      ['stop', {}],
    ] as const)
      await denied(client, cmd, args, new RegExp(`The command ${cmd} is not allowed .*profile 'operator'`));
    // screendump: inside its directory only.
    await forwarded(client, 'screendump', { filename: join(dir, 'screens', 'a.ppm') });
    for (const filename of [
      join(dir, 'a.ppm'),
      `${join(dir, 'screens')}-other/a.ppm`,
      `${join(dir, 'screens')}/../a.ppm`,
      'a.ppm',
    ])
      await denied(client, 'screendump', { filename }, /argument 'filename' of screendump names the host path/);
  }),
);

const wide = (dir: string): QmpProxyPolicyFile => ({
  default: {
    allow: [
      'dump-guest-memory',
      'chardev-add',
      'netdev_add',
      'human-monitor-command',
      'migrate',
      'blockdev-add',
      'object-add',
      'device_add',
      'qom-set',
      'transaction',
      'transaction:drive-backup',
      'transaction:block-dirty-bitmap-add',
      'transaction:blockdev-snapshot-sync',
    ],
    deny: ['blockdev-snapshot-sync'],
    paths: [join(dir, 'ok')],
  },
});

test('host paths in arguments are refused unless the profile allows them', { timeout: 60000 }, () =>
  withPolicy(wide, {}, async ({ dir, client }) => {
    const out = join(dir, 'elsewhere');
    const ok = join(dir, 'ok', 'f');
    const cases: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [
      ['dump-guest-memory', { paging: false, protocol: `file:${out}` }, { paging: false, protocol: `file:${ok}` }],
      [
        'chardev-add',
        { id: 'c', backend: { type: 'file', data: { out } } },
        { id: 'c', backend: { type: 'file', data: { out: ok } } },
      ],
      [
        'chardev-add',
        { id: 'u', backend: { type: 'socket', data: { addr: { type: 'unix', data: { path: out } } } } },
        { id: 'u', backend: { type: 'socket', data: { addr: { type: 'unix', data: { path: ok } } } } },
      ],
      [
        'blockdev-add',
        { 'node-name': 'n', driver: 'qcow2', file: { driver: 'file', filename: out } },
        { 'node-name': 'n', driver: 'qcow2', file: { driver: 'file', filename: ok } },
      ],
      [
        'object-add',
        { 'qom-type': 'memory-backend-file', id: 'm', size: 1048576, 'mem-path': out },
        { 'qom-type': 'memory-backend-file', id: 'm', size: 1048576, 'mem-path': ok },
      ],
      ['object-add', { 'qom-type': 'secret', id: 's', file: out }, { 'qom-type': 'secret', id: 's', file: ok }],
      ['device_add', { driver: 'e1000', id: 'e', romfile: out }, { driver: 'e1000', id: 'e', romfile: ok }],
      ['migrate', { uri: `unix:${out}` }, { uri: `unix:${ok}` }],
    ];
    for (const [cmd, bad, good] of cases) {
      await denied(client, cmd, bad, /names the host path .*does not allow/);
      await forwarded(client, cmd, good);
    }
    // Programs and shell commands: no prefix makes them safe.
    await denied(
      client,
      'netdev_add',
      { type: 'tap', id: 't', script: join(dir, 'ok', 'up.sh') },
      /argument 'script' of netdev_add runs a program/,
    );
    await denied(client, 'migrate', { uri: 'exec:touch /tmp/pwned' }, /argument 'uri' of migrate runs a program/);
    await denied(client, 'human-monitor-command', { 'command-line': 'info status' }, /runs a program or command/);
    // QOM paths are not host paths.
    await forwarded(client, 'qom-set', { path: '/machine', property: 'x', value: 1 });
  }),
);

test('transaction: each action checked against the profile, paths included', { timeout: 60000 }, () =>
  withPolicy(wide, {}, async ({ dir, client }) => {
    const bitmap = { type: 'block-dirty-bitmap-add', data: { node: 'n', name: 'b' } };
    await forwarded(client, 'transaction', { actions: [bitmap] });
    await denied(
      client,
      'transaction',
      { actions: [bitmap, { type: 'block-dirty-bitmap-remove', data: { node: 'n', name: 'b' } }] },
      /transaction action block-dirty-bitmap-remove is not allowed/,
    );
    // Allowed as an action, denied as a command: the deny wins.
    await denied(
      client,
      'transaction',
      { actions: [{ type: 'blockdev-snapshot-sync', data: { device: 'd', 'snapshot-file': join(dir, 'ok', 's') } }] },
      /transaction action blockdev-snapshot-sync is not allowed/,
    );
    await denied(
      client,
      'transaction',
      { actions: [{ type: 'drive-backup', data: { device: 'd', target: join(dir, 'x'), sync: 'full' } }] },
      /argument 'target' of transaction action drive-backup names the host path/,
    );
    await forwarded(client, 'transaction', {
      actions: [{ type: 'drive-backup', data: { device: 'd', target: join(dir, 'ok', 'x'), sync: 'full' } }],
    });
  }),
);

test('audit records carry the arguments, secrets redacted, strings capped at the edge', { timeout: 60000 }, () =>
  withPolicy(
    () => ({}),
    { auditMaxStringChars: 8, auditMaxArgumentChars: 400 },
    async ({ client, audit }) => {
      await forwarded(client, 'set_password', { protocol: 'vnc', password: 'hunter2' });
      await forwarded(client, 'object-add', { 'qom-type': 'secret', id: 's0', data: 'topsecret', format: 'raw' });
      await forwarded(client, 'human-monitor-command', { 'command-line': 'set_password vnc hunter2' });
      await forwarded(client, 'qom-get', { path: '12345678', property: '123456789' });
      await forwarded(client, 'qom-list', { path: Array.from({ length: 200 }, (_, i) => `p${i}`).join('/') });
      await forwarded(client, 'qom-list', { path: 'x'.repeat(100) });
      const byCommand = (c: string): QmpAuditRecord[] => audit.filter((r) => r.command === c);
      assert.deepEqual(byCommand('set_password')[0]?.arguments, { protocol: 'vnc', password: REDACTED });
      assert.deepEqual(byCommand('object-add')[0]?.arguments, {
        'qom-type': 'secret',
        id: 's0',
        data: REDACTED,
        format: 'raw',
      });
      // Redacted first (`set_password <redacted>`, 23 characters), then capped.
      assert.deepEqual(byCommand('human-monitor-command')[0]?.arguments, { 'command-line': 'set_pass…(23 chars)' });
      // 8 characters kept as they are; 9 cut, with the length noted.
      assert.deepEqual(byCommand('qom-get')[0]?.arguments, { path: '12345678', property: '12345678…(9 chars)' });
      assert.deepEqual(byCommand('qom-list')[1]?.arguments, { path: 'xxxxxxxx…(100 chars)' });
      for (const r of audit) {
        assert.ok(!JSON.stringify(r).includes('hunter2'), 'no password in the log');
        assert.ok(!JSON.stringify(r).includes('topsecret'), 'no secret data in the log');
      }
    },
  ),
);

test('audit: the arguments of one record are capped as a whole', { timeout: 60000 }, () =>
  withPolicy(
    () => ({}),
    { auditMaxArgumentChars: 100 },
    async ({ client, audit }) => {
      const args = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`member${i}`, i]));
      await forwarded(client, 'qom-get', args);
      const kept = audit.at(-1)?.arguments as Record<string, unknown>;
      assert.ok(JSON.stringify(kept).length < 300, JSON.stringify(kept));
      assert.match(String(kept['…']), /more member/);
    },
  ),
);

test('a listener on every interface gets a warning; one on localhost does not', { timeout: 60000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-swarn-'));
  const sim = await startSimulator({
    argv: ['-machine', 'none', '-qmp', `unix:${join(dir, 'q.sock')},server=on,wait=off`],
  });
  const notices: QmpProxyNotice[] = [];
  let proxy: QmpProxy | undefined;
  try {
    proxy = await QmpProxy.start({
      upstream: join(dir, 'q.sock'),
      listen: ['0.0.0.0:0', '127.0.0.1:0'],
      onNotice: (n) => notices.push(n),
    });
    const warnings = notices.filter((n) => n.kind === 'listener-exposed');
    assert.equal(warnings.length, 1, JSON.stringify(notices));
    assert.match(JSON.stringify(warnings[0]), /0\.0\.0\.0.*every network interface/);
  } finally {
    await proxy?.close();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
