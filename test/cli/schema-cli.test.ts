// `qmpkit schema diff` and `qmpkit schema show` as a user runs them: bundled releases, schema files,
// a monitor address (the simulator, and a real QEMU 7.2) and a QEMU binary started for the diff.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadReleaseIntrospection } from '../../src/schema/index.js';
import { type QmpSimulator, startSimulator } from '../../src/simulator/index.js';
import { QEMU_BINARY, requireQemu, startQemu } from '../helpers/qemu.js';
import { qmpkit } from './helpers/run-cli.js';

interface JsonDiff {
  from: string;
  to: string;
  breaking: number;
  changes: Array<{ kind: string; entity: string; name: string; detail?: string; breaking: boolean }>;
}

describe('qmpkit schema', { concurrency: false }, () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'qmpkit-schema-cli-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('qmpkit --help lists schema; qmpkit schema --help describes diff and show', async () => {
    assert.match((await qmpkit(['--help'])).stdout, /^ {2}schema {3}compare QEMU schemas/m);
    const r = await qmpkit(['schema', '--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^usage: qmpkit schema diff A B \[--json\]\n {7}qmpkit schema show NAME/);
    assert.match(r.stdout, /Exit status/);
  });

  test('diff 7.2 7.2: no differences, exit 0', async () => {
    const r = await qmpkit(['schema', 'diff', '7.2', '7.2']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'QEMU 7.2 -> QEMU 7.2: no differences\n');
    assert.equal(r.stderr, '');
  });

  test('diff 7.2 10.0: real removals, additions and deprecations, exit 1', async () => {
    const r = await qmpkit(['schema', 'diff', '7.2', '10.0']);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stdout.split('\n');
    assert.match(lines[0] ?? '', /^QEMU 7\.2 -> QEMU 10\.0: \d+ breaking for clients, \d+ compatible$/);
    const breaking = lines.indexOf('Breaking for clients:');
    const compatible = lines.indexOf('Compatible:');
    assert.ok(breaking > 0 && compatible > breaking, r.stdout);
    const at = (text: string): number => {
      const i = lines.indexOf(text);
      assert.ok(i > 0, `missing line '${text}'`);
      return i;
    };
    assert.ok(at('  removed    command     x-query-rdma') < compatible);
    assert.ok(at('  removed    member      StatusInfo.singlestep') < compatible);
    assert.ok(at("  removed    enum-value  TargetInfoArch 'nios2'") < compatible);
    assert.ok(at('  added      command     query-audiodevs') > compatible);
    assert.ok(at('  deprecated member      ChardevAddArgumentsBackendSocketData.reconnect') > compatible);
    assert.ok(at('  changed    member      MigrateArguments.uri: required -> optional') > compatible);
  });

  test('diff --json: from, to, breaking count and the changes', async () => {
    const r = await qmpkit(['schema', 'diff', '7.2', '10.0', '--json']);
    assert.equal(r.code, 1, r.stderr);
    const d = JSON.parse(r.stdout) as JsonDiff;
    assert.equal(d.from, 'QEMU 7.2');
    assert.equal(d.to, 'QEMU 10.0');
    assert.equal(d.breaking, d.changes.filter((c) => c.breaking).length);
    assert.ok(d.breaking > 10);
    assert.deepEqual(
      d.changes.find((c) => c.name === 'x-query-rdma'),
      { kind: 'removed', entity: 'command', name: 'x-query-rdma', breaking: true },
    );
    assert.deepEqual(
      d.changes.find((c) => c.name === 'MigrateIncomingArguments.uri'),
      {
        kind: 'changed',
        entity: 'member',
        name: 'MigrateIncomingArguments.uri',
        detail: 'required -> optional',
        breaking: false,
      },
    );
    const back = await qmpkit(['schema', 'diff', '10.0', '7.2', '--json']);
    const d2 = JSON.parse(back.stdout) as JsonDiff;
    assert.deepEqual(
      d2.changes.find((c) => c.name === 'x-query-rdma'),
      { kind: 'added', entity: 'command', name: 'x-query-rdma', breaking: false },
    );
  });

  test('diff a schema file (the whole reply, or the array) against the bundled release', async () => {
    const reply = join(dir, 'reply.json');
    writeFileSync(reply, JSON.stringify({ return: loadReleaseIntrospection('9.2') }));
    const r = await qmpkit(['schema', 'diff', reply, '9.2']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${reply} -> QEMU 9.2: no differences\n`);
    const list = join(dir, 'list.json');
    writeFileSync(list, JSON.stringify(loadReleaseIntrospection('8.2')));
    const d = await qmpkit(['schema', 'diff', '8.2', list, '--json']);
    assert.equal(d.code, 0, d.stderr);
    assert.deepEqual((JSON.parse(d.stdout) as JsonDiff).changes, []);
  });

  test('usage errors exit 2: an unknown release lists the bundled ones; connection failures exit 3', async () => {
    const r = await qmpkit(['schema', 'diff', '7.2', '6.1']);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      'qmpkit schema: no bundled schema for QEMU 6.1: the bundled releases are 6.2, 7.2, 8.2, 9.2, 10.0, 10.2\n',
    );
    assert.equal((await qmpkit(['schema', 'diff', '7.2'])).code, 2);
    assert.equal((await qmpkit(['schema', 'frob'])).code, 2);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"return": 5}');
    const b = await qmpkit(['schema', 'diff', '7.2', bad]);
    assert.equal(b.code, 2);
    assert.match(b.stderr, /bad\.json: Introspection data must be an array/);
    const c = await qmpkit(['schema', 'diff', '7.2', `unix:${join(dir, 'nobody.sock')}`]);
    assert.equal(c.code, 3, c.stderr);
  });

  test('show: a command with nested types, an event, and a name that does not exist (exit 1)', async () => {
    const r = await qmpkit(['schema', 'show', 'blockdev-snapshot-sync']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      [
        '# QEMU 7.2',
        'command blockdev-snapshot-sync',
        'arguments:',
        '  device?: str',
        '  node-name?: str',
        '  snapshot-file: str',
        '  snapshot-node-name?: str',
        '  format?: str',
        '  mode?: BlockdevSnapshotSyncArgumentsMode',
        'returns: nothing',
        '',
        'BlockdevSnapshotSyncArgumentsMode: enum',
        "  'existing'",
        "  'absolute-paths'",
        '',
      ].join('\n'),
    );
    const q = await qmpkit(['schema', 'show', 'query-block', '--qemu', '10.0']);
    assert.equal(q.code, 0, q.stderr);
    assert.match(
      q.stdout,
      /^# QEMU 10\.0\ncommand query-block\narguments: none\nreturns: \[BlockInfo\]\n\nBlockInfo: object\n/,
    );
    assert.match(q.stdout, /\n {2}inserted\?: NamedBlockNodesInfo\n/);
    assert.match(q.stdout, /\nNamedBlockNodesInfo: object\n/);
    // A union: its tag and branches.
    assert.match(q.stdout, /\nNamedBlockNodesInfoImageFormatSpecific: object, by 'type'\n {2}type: \w+\n/);
    assert.match(q.stdout, /\n {2}when type is 'qcow2': also NamedBlockNodesInfoImageFormatSpecificQcow2\n/);
    assert.match(q.stdout, /\n {2}when format is 'aes': no more members\n/);
    const e = await qmpkit(['schema', 'show', 'BLOCK_JOB_COMPLETED', '--qemu', '9.2']);
    assert.equal(e.code, 0, e.stderr);
    assert.match(e.stdout, /^# QEMU 9\.2\nevent BLOCK_JOB_COMPLETED\ndata:\n {2}type: \w+\n {2}device: str\n/);
    const n = await qmpkit(['schema', 'show', 'x-query-rdma', '--qemu', '10.0']);
    assert.equal(n.code, 1);
    assert.equal(n.stderr, "qmpkit schema show: QEMU 10.0 has no command, event or type 'x-query-rdma'\n");
    const m = await qmpkit(['schema', 'show', 'query-rdma']);
    assert.equal(m.code, 1);
    assert.equal(
      m.stderr,
      "qmpkit schema show: QEMU 7.2 has no command, event or type 'query-rdma' (similar: x-query-rdma)\n",
    );
    const s = await qmpkit(['schema', 'show', 'x-query-rdma', '--qemu', '7.2']);
    assert.equal(s.code, 0, s.stderr);
  });

  test('diff against a monitor address: the simulator speaks 7.2', async () => {
    const sock = join(dir, 'sim.sock');
    const sim: QmpSimulator = await startSimulator({
      qmp: [`unix:${sock},server=on,wait=off`],
      stderr: process.stderr,
    });
    try {
      const r = await qmpkit(['schema', 'diff', '7.2', sock]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `QEMU 7.2 -> QEMU 7.2.22 at ${sock}: no differences\n`);
    } finally {
      await sim.close();
    }
  });

  test('diff against the live QEMU 7.2, by its monitor and by its binary: no differences', async (t) => {
    if (!requireQemu(t)) return;
    const q = await startQemu();
    try {
      const r = await qmpkit(['schema', 'diff', '7.2', q.socketPath, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const d = JSON.parse(r.stdout) as JsonDiff;
      assert.match(d.to, /^QEMU 7\.2\.\d+ at /);
      assert.deepEqual(d.changes, []);
    } finally {
      await q.stop();
    }
    const b = await qmpkit(['schema', 'diff', '7.2', '--qemu-binary', QEMU_BINARY], { timeoutMs: 60_000 });
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stdout, /^QEMU 7\.2 -> QEMU 7\.2\.\d+ \(.*qemu-system-x86_64\): no differences\n$/);
  });
});
