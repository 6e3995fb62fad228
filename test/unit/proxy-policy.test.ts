// The proxy's policy: profiles, wildcards, deny over allow, CN over listener, any spelling of a
// listener address, and the mistakes that must not silently leave a listener with full access.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { QmpUsageError } from '../../src/errors/index.js';
import {
  hostPathArguments,
  listenerKey,
  QmpProxy,
  QmpProxyPolicy,
  type QmpProxyRules,
  requestDenial,
} from '../../src/proxy/index.js';
import type { QValue } from '../../src/wire/index.js';

test('profiles: read-only, wildcards, deny wins over allow, CN wins over listener', () => {
  const policy = new QmpProxyPolicy({
    default: 'operator',
    profiles: { operator: { deny: ['quit', 'migrate*'] }, odd: { allow: ['query-*'], deny: ['query-status'] } },
    listeners: { '/run/ro.sock': 'read-only', 'tcp:127.0.0.1:4444': 'odd' },
    clients: { metrics: 'read-only' },
  });
  const ro = policy.rulesFor('unix:/run/ro.sock');
  assert.equal(ro.name, 'read-only');
  for (const c of ['query-status', 'query-block', 'qom-get', 'qom-list']) assert.ok(ro.allows(c), c);
  for (const c of ['stop', 'qom-set', 'device_add', 'xquery-status']) assert.ok(!ro.allows(c), c);
  const odd = policy.rulesFor('127.0.0.1:4444');
  assert.ok(odd.allows('query-block'));
  assert.ok(!odd.allows('query-status'));
  const op = policy.rulesFor('unix:/run/other.sock');
  assert.equal(op.name, 'operator');
  assert.ok(op.allows('stop'));
  assert.ok(!op.allows('migrate-set-parameters'));
  assert.ok(!op.allows('quit'));
  assert.equal(policy.rulesFor('unix:/run/other.sock', 'metrics').name, 'read-only');
  assert.equal(policy.rulesFor('unix:/run/other.sock', 'someone-else').name, 'operator');
});

test('a listener matches in any spelling of its address', () => {
  for (const [a, b] of [
    ['/run/x.sock', 'unix:/run/x.sock'],
    ['unix:/run/x.sock,server=on,wait=off', '/run/x.sock'],
    ['tls:127.0.0.1:4445', 'tcp:127.0.0.1:4445'],
    ['localhost:4444', 'tcp:localhost:4444,server,nowait'],
  ] as const) {
    assert.equal(listenerKey(a), listenerKey(b), `${a} ~ ${b}`);
  }
  assert.notEqual(listenerKey('/run/x.sock'), listenerKey('/run/y.sock'));
});

test('an inline profile may stand wherever a profile is named', () => {
  const policy = new QmpProxyPolicy({
    default: { deny: ['quit'] },
    listeners: { 'unix:/run/ro.sock': { allow: ['query-status'] } },
    clients: { backup: { allow: ['query-*', 'blockdev-backup'], deny: ['query-migrate'] } },
  });
  const ro = policy.rulesFor('/run/ro.sock');
  assert.equal(ro.name, 'listener unix:/run/ro.sock');
  assert.deepEqual([ro.allows('query-status'), ro.allows('query-name')], [true, false]);
  const dflt = policy.rulesFor('/run/other.sock');
  assert.deepEqual([dflt.name, dflt.allows('stop'), dflt.allows('quit')], ['default', true, false]);
  const cn = policy.rulesFor('/run/ro.sock', 'backup');
  assert.deepEqual(
    [cn.name, cn.allows('blockdev-backup'), cn.allows('query-name'), cn.allows('query-migrate')],
    ['client backup', true, true, false],
  );
  assert.throws(
    () => new QmpProxyPolicy({ listeners: { '/x': 5 as never } }),
    /profile 'listener unix:\/x' must be an object/,
  );
  assert.throws(
    () => new QmpProxyPolicy({ clients: { c: { allow: ['x'], only: [] } as never } }),
    /unknown member 'only'/,
  );
  assert.throws(() => new QmpProxyPolicy({ listeners: [] as never }), /listeners must be an object/);
});

test('policy mistakes are usage errors, not silent full access', async () => {
  assert.throws(() => new QmpProxyPolicy({ listener: { '/x': 'read-only' } } as never), /unknown member 'listener'/);
  assert.throws(
    () => new QmpProxyPolicy({ listeners: { '/x': 'readonly' } }),
    /unknown profile 'readonly' \(for listener unix:\/x\); the profiles are full, read-only$/,
  );
  assert.throws(
    () => new QmpProxyPolicy({ profiles: { mon: { allow: ['query-*'] } }, default: 'monitor' }),
    /unknown profile 'monitor' \(for default\); the profiles are full, read-only, mon$/,
  );
  assert.throws(() => new QmpProxyPolicy({ profiles: { p: { allowed: ['x'] } as never } }), /unknown member 'allowed'/);
  assert.throws(() => new QmpProxyPolicy({ profiles: { p: { allow: 'query-*' as never } } }), QmpUsageError);
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-policy-'));
  try {
    writeFileSync(join(dir, 'bad.json'), '{"listeners": ');
    assert.throws(() => QmpProxyPolicy.fromFile(join(dir, 'bad.json')), QmpUsageError);
    writeFileSync(join(dir, 'list.json'), '[]');
    assert.throws(() => QmpProxyPolicy.fromFile(join(dir, 'list.json')), /expected a JSON object/);
    // A policy for a listener the proxy does not have is refused before anything is opened.
    await assert.rejects(
      QmpProxy.start({
        upstream: join(dir, 'nowhere.sock'),
        listen: [join(dir, 'rw.sock')],
        policy: new QmpProxyPolicy({ listeners: { [join(dir, 'r0.sock')]: 'read-only' } }),
      }),
      (e: unknown) =>
        e instanceof QmpUsageError &&
        /r0\.sock, which is not one of the addresses in options\.listen$/.test(e.message) &&
        !e.message.includes('--'),
    );
    // The library speaks of its options, not of the CLI's flags.
    await assert.rejects(
      QmpProxy.start({ upstream: join(dir, 'nowhere.sock'), listen: [] }),
      (e: unknown) => e instanceof QmpUsageError && e.message === 'proxy: options.listen needs at least one address',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('paths: absolute directory prefixes, no escapes; "*" for everything; bad prefixes refused', () => {
  const policyRules = (name: string): QmpProxyRules =>
    new QmpProxyPolicy({
      profiles: { shots: { allow: ['screendump'], paths: ['/srv/shots'] }, any: { deny: ['quit'], paths: ['*'] } },
      default: name,
    }).rulesFor('unix:/x');
  const shots = policyRules('shots');
  assert.ok(shots.allowsPath('/srv/shots/a.ppm'));
  assert.ok(shots.allowsPath('/srv/shots/sub/a.ppm'));
  for (const p of ['/srv/shots', '/srv/shots-x/a', '/srv/shots/../etc/passwd', 'shots/a', '/srv/shots/./a'])
    assert.ok(!shots.allowsPath(p), p);
  assert.ok(!shots.allowsAnyPath);
  assert.ok(policyRules('any').allowsAnyPath);
  assert.ok(policyRules('full').fullAccess);
  assert.ok(!policyRules('any').fullAccess, 'a deny list is not full access');
  assert.ok(!policyRules('read-only').fullAccess);
  for (const bad of [['relative/dir'], ['/a/../b'], [1]])
    assert.throws(() => new QmpProxyPolicy({ profiles: { p: { paths: bad as string[] } } }), QmpUsageError);
});

test('requestDenial: commands, transaction actions (deny by command name wins), host paths', () => {
  const rules = new QmpProxyPolicy({
    default: {
      allow: ['transaction', 'transaction:*', 'screendump', 'qom-set'],
      deny: ['drive-backup'],
      paths: ['/srv/ok'],
    },
  }).rulesFor('unix:/x');
  const m = (o: Record<string, QValue>): Map<string, QValue> => new Map(Object.entries(o));
  const action = (type: string, data: Record<string, QValue>): Map<string, QValue> => m({ type, data: m(data) });
  assert.equal(requestDenial(rules, 'screendump', m({ filename: '/srv/ok/a' })), undefined);
  assert.match(requestDenial(rules, 'screendump', m({ filename: '/etc/a' })) ?? '', /host path "\/etc\/a"/);
  assert.match(requestDenial(rules, 'stop', m({})) ?? '', /The command stop is not allowed/);
  assert.equal(
    requestDenial(rules, 'qom-set', m({ path: '/machine', property: 'p', value: 1 as unknown as QValue })),
    undefined,
  );
  assert.equal(
    requestDenial(rules, 'transaction', m({ actions: [action('block-dirty-bitmap-add', { node: 'n', name: 'b' })] })),
    undefined,
  );
  assert.match(
    requestDenial(
      rules,
      'transaction',
      m({ actions: [action('drive-backup', { device: 'd', target: '/srv/ok/t' })] }),
    ) ?? '',
    /transaction action drive-backup is not allowed/,
  );
  assert.match(
    requestDenial(
      rules,
      'transaction',
      m({ actions: [action('blockdev-snapshot-sync', { 'snapshot-file': '/tmp/s' })] }),
    ) ?? '',
    /'snapshot-file' of transaction action blockdev-snapshot-sync/,
  );
  assert.deepEqual(
    hostPathArguments('blockdev-add', m({ driver: 'qcow2', file: m({ driver: 'file', filename: '/a' }) })).map(
      (p) => p.member,
    ),
    ['file.filename'],
  );
  assert.deepEqual(hostPathArguments('blockdev-add', m({ driver: 'qcow2', file: 'node0' })), []);
  assert.deepEqual(hostPathArguments('qom-get', m({ path: '/machine', property: 'x' })), []);
});
