// `qmpkit exec` and `qmpkit events` as processes against real QEMU: output, exit codes, schema typing,
// HMP, filters, counts and timeouts. The same against the simulator is in sim-cli.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { haveQemu, type QemuInstance, requireQemu, startQemu } from '../helpers/qemu.js';
import { CliProcess, QMPKIT, qmpkit } from './helpers/run-cli.js';

describe('exec and events against real QEMU', { concurrency: false }, () => {
  let q: QemuInstance | undefined;
  let dir = '';
  let sock = '';
  let sock2 = '';
  before(async () => {
    if (!haveQemu()) return;
    dir = mkdtempSync(join(tmpdir(), 'qmpkit-cli-'));
    sock2 = join(dir, 'qmp2.sock');
    q = await startQemu({
      machine: 'q35',
      cdrom: true,
      extraArgs: ['-qmp', `unix:${sock2},server=on,wait=off`],
    });
    sock = q.socketPath;
  });
  after(async () => {
    await q?.stop();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  test('exec prints the return value as compact JSON', async (t) => {
    if (!requireQemu(t)) return;
    const r = await qmpkit(['exec', sock, 'query-status']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '{"status":"running","singlestep":false,"running":true}\n');
    assert.equal(r.stderr, '');
  });

  test('exec --pretty', async (t) => {
    if (!requireQemu(t)) return;
    const r = await qmpkit(['exec', sock, 'query-status', '--pretty']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '{\n  "status": "running",\n  "singlestep": false,\n  "running": true\n}\n');
  });

  test('exec key=value typed by the schema: id=1 is a string (DeviceNotFound, not a type error)', async (t) => {
    if (!requireQemu(t)) return;
    const r = await qmpkit(['exec', sock, 'eject', 'id=1']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, "qmpkit exec: DeviceNotFound: Device '1' not found\n");
    const untyped = await qmpkit(['exec', sock, 'eject', 'id=1', '--no-schema']);
    assert.equal(untyped.code, 1);
    assert.equal(untyped.stderr, "qmpkit exec: GenericError: Invalid parameter type for 'id', expected: string\n");
  });

  test('exec a command that changes state, with booleans', async (t) => {
    if (!requireQemu(t)) return;
    const r = await qmpkit(['exec', sock, 'eject', 'id=ide1-cd0', 'force=true']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '{}\n');
  });

  test('exec --args JSON, and mixing it with key=value', async (t) => {
    if (!requireQemu(t)) return;
    const r = await qmpkit(['exec', sock, 'query-command-line-options', '--args', '{"option": "machine"}']);
    assert.equal(r.code, 0, r.stderr);
    const v = JSON.parse(r.stdout) as Array<{ option: string }>;
    assert.equal(v[0]?.option, 'machine');
    const both = await qmpkit(['exec', sock, 'query-command-line-options', '--args', '{"option": "m"}', 'option=x']);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /"option" is set by both --args and key=value/);
  });

  test('exec an unknown command: exit 1 with class and desc', async (t) => {
    if (!requireQemu(t)) return;
    const r = await qmpkit(['exec', sock, 'no-such-command']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'qmpkit exec: CommandNotFound: The command no-such-command has not been found\n');
  });

  test('exec --hmp prints the text', async (t) => {
    if (!requireQemu(t)) return;
    const r = await qmpkit(['exec', sock, '--hmp', 'info status']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'VM status: running\n');
  });

  test('exec works with QEMU spellings of the address', async (t) => {
    if (!requireQemu(t)) return;
    const r = await qmpkit(['exec', `unix:${sock},server=on,wait=off`, 'query-name']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '{}\n');
  });

  test('events: --name filters, --count ends, each line is the event as QEMU sent it', async (t) => {
    if (!requireQemu(t)) return;
    const ev = new CliProcess(QMPKIT, ['events', sock2, '--name', 'STOP', '--name', 'RESUME', '--count', '2', '-v']);
    try {
      await ev.waitFor('stderr', 'qmpkit events: listening on');
      assert.equal((await qmpkit(['exec', sock, 'stop'])).code, 0);
      assert.equal((await qmpkit(['exec', sock, 'cont'])).code, 0);
      const r = await ev.done;
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.equal(lines.length, 2);
      const events = lines.map((l) => JSON.parse(l) as { event: string; timestamp: { seconds: number } });
      assert.deepEqual(
        events.map((e) => e.event),
        ['STOP', 'RESUME'],
      );
      assert.ok(events.every((e) => e.timestamp.seconds > 1_600_000_000));
    } finally {
      ev.kill();
    }
  });

  test('events: --match on data', async (t) => {
    if (!requireQemu(t)) return;
    const ev = new CliProcess(QMPKIT, [
      'events',
      sock2,
      '--name',
      'DEVICE_TRAY_MOVED',
      '--match',
      'tray-open=false',
      '--match',
      'id=ide1-cd0',
      '--count',
      '1',
      '-v',
    ]);
    try {
      await ev.waitFor('stderr', 'listening');
      // The tray is open after the eject above; closing it sends tray-open=false. Open it first
      // if an earlier test did not run, so exactly one matching event follows.
      await qmpkit(['exec', sock, 'eject', 'id=ide1-cd0', 'force=true']);
      assert.equal((await qmpkit(['exec', sock, 'blockdev-close-tray', 'id=ide1-cd0'])).code, 0);
      const r = await ev.done;
      assert.equal(r.code, 0, r.stderr);
      const e = JSON.parse(r.stdout) as { event: string; data: Record<string, unknown> };
      assert.equal(e.event, 'DEVICE_TRAY_MOVED');
      assert.equal(e.data['tray-open'], false);
    } finally {
      ev.kill();
    }
  });

  test('events: --timeout-ms before --count exits 4; without --count it ends with 0', async (t) => {
    if (!requireQemu(t)) return;
    const r = await qmpkit(['events', sock2, '--name', 'NEVER_HAPPENS', '--count', '1', '--timeout-ms', '200']);
    assert.equal(r.code, 4, r.stderr);
    assert.equal(r.stdout, '');
    const r0 = await qmpkit(['events', sock2, '--name', 'NEVER_HAPPENS', '--timeout-ms', '200']);
    assert.equal(r0.code, 0, r0.stderr);
  });

  test('events: SIGINT ends the stream with 130', async (t) => {
    if (!requireQemu(t)) return;
    const ev = new CliProcess(QMPKIT, ['events', sock2, '-v']);
    try {
      await ev.waitFor('stderr', 'listening');
      ev.proc.kill('SIGINT');
      const r = await ev.done;
      assert.equal(r.code, 130);
    } finally {
      ev.kill();
    }
  });
});

describe('exec and events against a server that stops answering', () => {
  let server: Server;
  let dir = '';
  let path = '';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qmpkit-hang-'));
    path = join(dir, 'hang.sock');
    // Greets and negotiates like QEMU, answers nothing else, and drops the connection on "drop".
    server = createServer((s) => {
      s.write(
        '{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, "capabilities": ["oob"]}}\r\n',
      );
      let buf = '';
      s.on('data', (d) => {
        buf += d.toString();
        if (buf.includes('qmp_capabilities')) {
          buf = '';
          s.write('{"return": {}}\r\n');
        }
        if (buf.includes('"drop"')) s.destroy();
      });
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => server.listen(path, r));
  });
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('exec --timeout-ms exits 4', async () => {
    const r = await qmpkit(['exec', path, 'query-status', '--timeout-ms', '200']);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /^qmpkit exec: /);
  });

  test('a connection lost while waiting exits 3', async () => {
    const r = await qmpkit(['exec', path, 'drop']);
    assert.equal(r.code, 3, r.stderr);
  });
});
