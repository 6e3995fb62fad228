import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { QmpUsageError } from '../../src/errors/index.js';
import { parseConfigFile, parseKeyValues, parseSimArgs, SimRunStateMachine } from '../../src/simulator/index.js';

test("QEMU's key=value syntax: implied first word, ',,' escapes, legacy booleans", () => {
  assert.deepEqual(
    { ...parseKeyValues('socket,id=c0,path=/a,,b,server,nowait', 'backend') },
    {
      backend: 'socket',
      id: 'c0',
      path: '/a,b',
      server: 'on',
      wait: 'off',
    },
  );
});

test("the -qmp forms of QEMU's documentation", () => {
  const a = parseSimArgs(['-qmp', 'tcp:localhost:4444,server,wait=off']);
  assert.deepEqual(a.monitors, [
    { address: 'tcp:localhost:4444,server=on,wait=off', pretty: false, wait: false, label: 'compat_monitor0' },
  ]);
  const b = parseSimArgs(['-qmp', 'unix:./qmp-sock,server,wait=off', '-qmp', 'unix:/x,server=on']);
  assert.equal(b.monitors[0]?.address, 'unix:./qmp-sock,server=on,wait=off');
  assert.equal(b.monitors[1]?.wait, true, 'server=on without wait=off waits, as QEMU does');
  assert.equal(b.monitors[1]?.label, 'compat_monitor1');
});

test('-chardev + -mon with pretty=on, and the errors QEMU gives', () => {
  const c = parseSimArgs([
    '-chardev',
    'socket,id=qmp0,path=/tmp/q.sock,server=on,wait=off',
    '-mon',
    'chardev=qmp0,mode=control,pretty=on',
  ]);
  assert.deepEqual(c.monitors, [
    { address: 'unix:/tmp/q.sock,server=on,wait=off', pretty: true, wait: false, label: 'qmp0' },
  ]);
  const t = parseSimArgs([
    '-chardev',
    'socket,id=t,host=127.0.0.1,port=4444,server=on,wait=off',
    '-mon',
    'chardev=t,mode=control',
  ]);
  assert.equal(t.monitors[0]?.address, 'tcp:127.0.0.1:4444,server=on,wait=off');
  assert.throws(() => parseSimArgs(['-mon', 'chardev=nonexist,mode=control']), /chardev "nonexist" not found/);
  assert.throws(
    () =>
      parseSimArgs(['-chardev', 'socket,id=h,path=/x,server=on,wait=off', '-mon', 'chardev=h,mode=readline,pretty=on']),
    /'pretty' is not compatible with HMP monitors/,
  );
  assert.throws(
    () => parseSimArgs(['-qmp', 'stdio', '-qmp', 'stdio']),
    /cannot use stdio by multiple character devices/,
  );
});

test('-readconfig with [chardev] and [mon] sections', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-sim-'));
  try {
    const file = join(dir, 'qemu-qmp.conf');
    writeFileSync(
      file,
      `# QMP on a unix socket\n[chardev "qmp"]\n  backend = "socket"\n  path = "${dir}/qmp.sock"\n  server = "on"\n  wait = "off"\n\n[mon "qmp"]\n  mode = "control"\n  chardev = "qmp"\n  pretty = "on"\n`,
    );
    const c = parseSimArgs(['-readconfig', file]);
    assert.deepEqual(c.monitors, [
      { address: `unix:${dir}/qmp.sock,server=on,wait=off`, pretty: true, wait: false, label: 'qmp' },
    ]);
    assert.throws(() => parseSimArgs(['-readconfig', join(dir, 'missing.conf')]), /No such file or directory/);
    assert.throws(() => parseConfigFile('[chardev "x"]\nbackend socket\n', 'f'), /f:2: parse error/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('-name, -uuid, -S, -machine, drives and devices; unknown options are clear errors', () => {
  const c = parseSimArgs([
    '-name',
    'vm1',
    '-uuid',
    '6C3E5B26-0D1A-4E5B-9B6E-1F5D2A3B4C5D',
    '-S',
    '-machine',
    'q35,accel=tcg',
    '-nodefaults',
    '-display',
    'none',
    '-m',
    '64',
    '-drive',
    'if=none,id=cd0,media=cdrom',
    '-device',
    'ide-cd,drive=cd0,id=ide1-cd0,bus=ide.1',
  ]);
  assert.equal(c.name, 'vm1');
  assert.equal(c.uuid, '6c3e5b26-0d1a-4e5b-9b6e-1f5d2a3b4c5d');
  assert.equal(c.paused, true);
  assert.equal(c.machine, 'q35');
  assert.equal(c.nodefaults, true);
  assert.deepEqual(c.drives[0], {
    id: 'cd0',
    media: 'cdrom',
    file: undefined,
    format: undefined,
    readonly: true,
    interface: 'none',
  });
  assert.equal(c.devices[0]?.driver, 'ide-cd');
  assert.deepEqual({ ...c.devices[0]?.props }, { drive: 'cd0', id: 'ide1-cd0', bus: 'ide.1' });
  for (const bad of [['-bogus'], ['-machine', 'virt'], ['-uuid', 'nope'], ['-qmp']]) {
    assert.throws(() => parseSimArgs(bad), QmpUsageError, bad.join(' '));
  }
});

test('the run-state table refuses what QEMU 7.2 refuses', () => {
  const rs = new SimRunStateMachine('prelaunch');
  rs.set('running');
  rs.set('paused');
  rs.set('prelaunch');
  assert.throws(() => rs.set('paused'), /invalid runstate transition/);
  rs.set('running');
  rs.set('shutdown');
  assert.equal(rs.needsReset, true);
});
