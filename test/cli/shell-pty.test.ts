// qmp-shell, `qmpkit launch --shell` and `qmpkit launch` as a user runs them, against real QEMU:
// in a pseudo-terminal (events arriving while typing, completion from QEMU's schema, history
// written), and in a pipe.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { haveQemu, QEMU_BINARY, type QemuInstance, requireQemu, startQemu } from '../helpers/qemu.js';
import { PtySession } from './helpers/pty.js';
import { CliProcess, QMP_SHELL, QMPKIT, qmpkit, qmpShell } from './helpers/run-cli.js';

describe('qmp-shell against real QEMU', { concurrency: false }, () => {
  let q: QemuInstance | undefined;
  let home = '';
  let sock2 = '';
  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'qmpkit-home-'));
    if (!haveQemu()) return;
    sock2 = join(home, 'qmp2.sock');
    q = await startQemu({ machine: 'q35', cdrom: true, extraArgs: ['-qmp', `unix:${sock2},server=on,wait=off`] });
  });
  after(async () => {
    await q?.stop();
    rmSync(home, { recursive: true, force: true });
  });
  const env = (): NodeJS.ProcessEnv => ({ ...process.env, HOME: home });

  test('banner, a command, an event while typing, completion, history', async (t) => {
    if (!requireQemu(t) || q === undefined) return;
    const s = new PtySession([process.execPath, QMP_SHELL, q.socketPath], { env: env() });
    try {
      await s.waitFor('(QEMU) ');
      const [welcome, connected] = s.screen();
      assert.equal(welcome, 'Welcome to the QMP low-level shell!');
      assert.match(connected ?? '', /^Connected to QEMU 7\.2\.\d+$/);

      s.write('query-status\r');
      await s.waitFor('{"return": {"status": "running", "singlestep": false, "running": true}}');

      // Half a line typed, then another client stops the VM: STOP shows above the prompt.
      const m = s.mark();
      s.write('eject id=ide1-cd0 fo');
      await s.waitFor('fo', { from: m });
      assert.equal((await qmpkit(['exec', sock2, 'stop'])).code, 0);
      await s.waitFor(/"event": "STOP"/, { from: m });
      await s.waitForScreenEnd(['(QEMU) eject id=ide1-cd0 fo']);
      const lines = s.screen();
      assert.match(
        lines[lines.length - 2] ?? '',
        /^\{"timestamp": \{"seconds": \d+, "microseconds": \d+\}, "event": "STOP"\}$/,
      );

      // Completion from QEMU's own schema finishes the argument name, then the value.
      s.write('\t');
      await s.waitForScreenEnd(['(QEMU) eject id=ide1-cd0 force=']);
      s.write('t\t');
      await s.waitForScreenEnd(['(QEMU) eject id=ide1-cd0 force=true']);
      s.write('\r');
      await s.waitFor('{"return": {}}', { from: m });
      await s.waitFor('"event": "DEVICE_TRAY_MOVED"', { from: m });

      // A QEMU error keeps its class and desc.
      s.write('eject id=1\r');
      await s.waitFor('{"error": {"class": "DeviceNotFound", "desc": "Device \'1\' not found"}}', { from: m });

      s.write('cont\r');
      await s.waitFor('"event": "RESUME"', { from: m });
      s.write('\x04');
      assert.equal(await s.exited, 0);
    } finally {
      s.kill();
    }
    const history = readFileSync(join(home, '.qmp-shell_history'), 'utf8');
    assert.equal(history, 'query-status\neject id=ide1-cd0 force=true\neject id=1\ncont\n');
  });

  test('transaction( in the TRANS> sub-mode reaches QEMU', async (t) => {
    if (!requireQemu(t) || q === undefined) return;
    const s = new PtySession([process.execPath, QMP_SHELL, '-v', q.socketPath], { env: env() });
    try {
      await s.waitFor('(QEMU) ');
      s.write('transaction(\r');
      await s.waitFor('TRANS> ');
      s.write('abort\r');
      await s.waitForScreenEnd(['TRANS> abort', 'TRANS>']);
      s.write(')\r');
      await s.waitFor('{"execute": "transaction", "arguments": {"actions": [{"type": "abort", "data": {}}]}}');
      await s.waitFor('"class": "GenericError", "desc": "Transaction aborted using Abort action"');
    } finally {
      s.kill();
    }
  });

  test('-H: HMP shell', async (t) => {
    if (!requireQemu(t) || q === undefined) return;
    const s = new PtySession([process.execPath, QMP_SHELL, '-H', q.socketPath], { env: env() });
    try {
      await s.waitFor('(QEMU) ');
      assert.equal(s.screen()[0], 'Welcome to the HMP shell!');
      s.write('info statu\t');
      await s.waitForScreenEnd(['(QEMU) info status']);
      s.write('\r');
      await s.waitFor(/VM status: running\n\(QEMU\) $/);
    } finally {
      s.kill();
    }
  });

  test('in a pipe: no prompts, replies only, -l logs each exchange', async (t) => {
    if (!requireQemu(t) || q === undefined) return;
    const log = join(home, 'exchanges.jsonl');
    const r = await qmpShell([q.socketPath, '-l', log], {
      input: 'query-status\neject id=1\nquery-name\n',
      env: env(),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^Welcome to the QMP low-level shell!\nConnected to QEMU 7\.2\.\d+\n\n\{"return": \{"status": "running", "singlestep": false, "running": true\}\}\n\{"error": \{"class": "DeviceNotFound", "desc": "Device '1' not found"\}\}\n\{"return": \{\}\}\n$/,
    );
    const entries = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(entries[2], { execute: 'query-name', arguments: {}, return: {} });
    assert.deepEqual(entries[1], {
      execute: 'eject',
      arguments: { id: '1' },
      error: { class: 'DeviceNotFound', desc: "Device '1' not found" },
    });
  });

  test('quit: QEMU goes away, the shell says so and exits 0', async (t) => {
    if (!requireQemu(t)) return;
    const own = await startQemu();
    try {
      const s = new PtySession([process.execPath, QMP_SHELL, own.socketPath], { env: env() });
      try {
        await s.waitFor('(QEMU) ');
        s.write('quit\r');
        await s.waitFor('Connection closed by QEMU');
        assert.equal(await s.exited, 0);
      } finally {
        s.kill();
      }
    } finally {
      await own.stop();
    }
  });

  test('QEMU killed under the shell: reported, exit 3', async (t) => {
    if (!requireQemu(t)) return;
    const own = await startQemu();
    try {
      const s = new PtySession([process.execPath, QMP_SHELL, own.socketPath], { env: env() });
      try {
        await s.waitFor('(QEMU) ');
        s.write('query-sta');
        own.proc.kill('SIGKILL');
        await s.waitFor(`Disconnected from ${own.socketPath}`);
        assert.equal(await s.exited, 3);
      } finally {
        s.kill();
      }
    } finally {
      await own.stop();
    }
  });
});

describe('qmp-shell --reconnect against real QEMU', () => {
  test('QEMU goes away and comes back on the same socket: the shell reconnects', async (t) => {
    if (!requireQemu(t)) return;
    const dir = mkdtempSync(join(tmpdir(), 'qmpkit-reconnect-'));
    const shared = join(dir, 'shared.sock');
    const second = ['-qmp', `unix:${shared},server=on,wait=off`];
    let first: QemuInstance | undefined = await startQemu({ extraArgs: second });
    let next: QemuInstance | undefined;
    const s = new PtySession([process.execPath, QMP_SHELL, '--reconnect', shared], {
      env: { ...process.env, HOME: dir },
    });
    try {
      await s.waitFor('(QEMU) ');
      await first.stop();
      first = undefined;
      await s.waitFor(`Disconnected from ${shared}`);
      await s.waitFor('reconnecting...');
      s.write('query-status\r');
      await s.waitFor(`Not connected to ${shared} (reconnecting...)`);
      next = await startQemu({ extraArgs: second });
      await s.waitFor(/Reconnected to QEMU 7\.2\.\d+/);
      const m = s.mark();
      s.write('query-status\r');
      await s.waitFor('"status": "running"', { from: m });
      s.write('\x04');
      assert.equal(await s.exited, 0);
    } finally {
      s.kill();
      await first?.stop();
      await next?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('qmpkit launch against real QEMU', { concurrency: false }, () => {
  const home = mkdtempSync(join(tmpdir(), 'qmpkit-home-'));
  after(() => rmSync(home, { recursive: true, force: true }));
  const qemu = [QEMU_BINARY, '-machine', 'none', '-nodefaults', '-display', 'none'];

  test('launch --shell: the shell on a fresh QEMU; Ctrl-D shuts it down', async (t) => {
    if (!requireQemu(t)) return;
    const s = new PtySession([process.execPath, QMPKIT, 'launch', '--shell', '--', ...qemu], {
      env: { ...process.env, HOME: home },
    });
    try {
      await s.waitFor('(QEMU) ');
      s.write('query-status\r');
      await s.waitFor('"status": "running"');
      s.write('\x04');
      assert.equal(await s.exited, 0);
    } finally {
      s.kill();
    }
  });

  test('launch --shell, then quit in the shell: exit 0', async (t) => {
    if (!requireQemu(t)) return;
    const s = new PtySession([process.execPath, QMPKIT, 'launch', '--shell', ...qemu], {
      env: { ...process.env, HOME: home },
    });
    try {
      await s.waitFor('(QEMU) ');
      s.write('quit\r');
      await s.waitFor('Connection closed by QEMU');
      assert.equal(await s.exited, 0);
    } finally {
      s.kill();
    }
  });

  test('launch without --shell prints events; SIGINT shuts QEMU down with quit', async (t) => {
    if (!requireQemu(t)) return;
    const p = new CliProcess(QMPKIT, ['launch', '--', ...qemu]);
    try {
      await p.waitFor('stderr', /QEMU 7\.2\.\d+ is running \(pid \d+\)/);
      p.proc.kill('SIGINT');
      const r = await p.done;
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /QEMU shut down \(quit\)/);
      assert.match(r.stdout, /"event":"SHUTDOWN","data":\{"guest":false,"reason":"host-qmp-quit"\}/);
    } finally {
      p.kill();
    }
  });

  test('launch with a bad QEMU option: exit 3 with the stderr tail', async (t) => {
    if (!requireQemu(t)) return;
    const r = await qmpkit(['launch', '--', ...qemu, '-bogus-option']);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /QEMU exited before it could connect its QMP monitor \(exit code 1\)/);
    assert.match(r.stderr, /-bogus-option: invalid option/);
  });
});
