import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QmpUsageError } from '../../src/errors/index.js';
import { addressFlag, formatAddress, parseAddress } from '../../src/transport/address.js';

test('bare socket paths are unix', () => {
  const u = parseAddress('/tmp/qmp.sock');
  assert.ok(u.kind === 'unix' && u.path === '/tmp/qmp.sock' && Object.keys(u.options).length === 0);
  assert.equal(parseAddress('./qmp-sock').kind, 'unix');
  assert.equal(parseAddress('qmp-sock').kind, 'unix');
});

test('host:port is tcp, including IPv6 literals', () => {
  const a = parseAddress('localhost:4444');
  assert.equal(a.kind, 'tcp');
  assert.ok(a.kind === 'tcp' && a.host === 'localhost' && a.port === 4444);
  const b = parseAddress('[::1]:4444');
  assert.ok(b.kind === 'tcp' && b.host === '::1' && b.port === 4444);
  const c = parseAddress('127.0.0.1:0');
  assert.ok(c.kind === 'tcp' && c.port === 0);
});

test("QEMU's spellings with server/wait suffixes", () => {
  const a = parseAddress('unix:./qmp-sock,server=on,wait=off');
  assert.ok(a.kind === 'unix' && a.path === './qmp-sock');
  assert.equal(addressFlag(a, 'server', false), true);
  assert.equal(addressFlag(a, 'wait', true), false);
  const b = parseAddress('tcp:localhost:4444,server,nowait');
  assert.ok(b.kind === 'tcp' && b.host === 'localhost' && b.port === 4444);
  assert.equal(addressFlag(b, 'server', false), true);
  assert.equal(addressFlag(b, 'wait', true), false);
  const c = parseAddress('tcp:localhost:4444,server,wait=off');
  assert.equal(addressFlag(c, 'wait', true), false);
  assert.equal(formatAddress(parseAddress('unix:/x,server=on,wait=off')), 'unix:/x,server=on,wait=off');
  assert.equal(formatAddress(parseAddress('tcp:[::1]:5')), 'tcp:[::1]:5');
});

test('stdio and fd', () => {
  assert.equal(parseAddress('stdio').kind, 'stdio');
  const f = parseAddress('fd:3');
  assert.ok(f.kind === 'fd' && f.fd === 3);
});

test('bad addresses are usage errors that name the address', () => {
  for (const bad of ['', 'unix:', 'tcp:localhost', 'tcp:host:99999', 'tcp:host:abc', 'fd:x']) {
    assert.throws(
      () => parseAddress(bad),
      (e: unknown) => e instanceof QmpUsageError && e.code === 'QMP_ERR_USAGE' && e.message.includes('address'),
      bad,
    );
  }
});
