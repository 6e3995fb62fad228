// The interactive shell in a real pseudo-terminal, on a scripted connection (fixtures/fake-shell.ts):
// line editing, events printed above the prompt while typing, completion, history, transactions,
// Ctrl-C/Ctrl-D, and the end of the connection. The same shell against the simulator and real QEMU
// is in shell-pty.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { PtySession } from './helpers/pty.js';

const FAKE = resolve(import.meta.dirname, 'fixtures/fake-shell.js');
const dir = mkdtempSync(join(tmpdir(), 'qmpkit-shell-pty-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let seq = 0;

function start(args: string[] = [], history = join(dir, `hist-${++seq}`), cols = 200) {
  const pidFile = join(dir, `pid-${seq}`);
  const s = new PtySession([process.execPath, FAKE, ...args], {
    env: { ...process.env, FAKE_SHELL_PIDFILE: pidFile, FAKE_SHELL_HISTORY: history },
    cols,
  });
  const emitEvent = (): void => {
    process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGUSR1');
  };
  return { s, emitEvent, history };
}

const last = (lines: string[], n = 1): string[] => lines.slice(-n);

describe('shell REPL in a pty', () => {
  test('banner, prompt, a command and its reply, Ctrl-D exits 0', async () => {
    const { s } = start();
    try {
      await s.waitFor('(QEMU) ');
      assert.deepEqual(s.screen().slice(0, 3), ['Welcome to the QMP low-level shell!', 'Connected to QEMU 7.2.0', '']);
      s.write('query-status\r');
      await s.waitFor('{"return": {"status": "running", "singlestep": false, "running": true}}');
      await s.waitFor(/running": true\}\}\n\(QEMU\) $/);
      s.write('\x04');
      assert.equal(await s.exited, 0);
    } finally {
      s.kill();
    }
  });

  test('an event arriving while typing prints above the prompt and keeps the typed text', async () => {
    const { s, emitEvent } = start();
    try {
      await s.waitFor('(QEMU) ');
      const m = s.mark();
      s.write('echo desc="half typ');
      await s.waitFor('half typ', { from: m });
      emitEvent();
      await s.waitFor(/DEVICE_TRAY_MOVED[^\n]*\n[^\n]*\(QEMU\) echo desc="half typ/, { from: m });
      const lines = s.screen();
      assert.match(
        lines[lines.length - 2] ?? '',
        /^\{"event": "DEVICE_TRAY_MOVED", "data": \{.*"tray-open": true, "n": 1\}, "timestamp": \{/,
      );
      assert.deepEqual(last(lines), ['(QEMU) echo desc="half typ']);
      // The line was not corrupted: finishing it sends the whole text.
      s.write('ed" n=1\r');
      await s.waitFor('{"return": {"desc": "half typed", "n": 1}}', { from: m });
      s.write('\x04');
      assert.equal(await s.exited, 0);
    } finally {
      s.kill();
    }
  });

  test('an event above a half-typed line that wraps over several rows', async () => {
    const { s, emitEvent } = start([], join(dir, `hist-wrap`), 40);
    try {
      await s.waitFor('(QEMU) ');
      const typed = `echo a=${'x'.repeat(70)}`;
      s.write(typed);
      const rows = ['(QEMU) echo a=xxxxxxxxxxxxxxxxxxxxxxxxxx', 'x'.repeat(40), 'x'.repeat(4)];
      await s.waitForScreenEnd(rows);
      emitEvent();
      await s.waitFor('DEVICE_TRAY_MOVED');
      await s.waitForScreenEnd([' 0}}', ...rows]);
      s.write(' b=1\r');
      await s.waitFor(/"b":\s*1\}\}/);
    } finally {
      s.kill();
    }
  });

  test('events while the prompt is empty and while a command runs', async () => {
    const { s, emitEvent } = start();
    try {
      await s.waitFor('(QEMU) ');
      emitEvent();
      await s.waitFor(/"n": 1.*\n\(QEMU\) $/);
      emitEvent();
      await s.waitFor(/"n": 2.*\n\(QEMU\) $/);
      const lines = s.screen();
      assert.match(lines[lines.length - 3] ?? '', /"n": 1/);
      assert.match(lines[lines.length - 2] ?? '', /"n": 2/);
      assert.equal(lines[lines.length - 1], '(QEMU)');
    } finally {
      s.kill();
    }
  });

  test('tab completes commands, argument names and enum values', async () => {
    const { s } = start();
    try {
      await s.waitFor('(QEMU) ');
      s.write('system_res\t');
      await s.waitFor('system_reset');
      s.write('\x15'); // Ctrl-U
      const m = s.mark();
      s.write('blockdev-add driver=qco\t');
      await s.waitFor(/driver=qcow$/m, { from: m });
      s.write('2 nod\t');
      await s.waitFor('node-name=', { from: m });
      assert.deepEqual(last(s.screen()), ['(QEMU) blockdev-add driver=qcow2 node-name=']);
      s.write('\x15');
      const m2 = s.mark();
      s.write('eject id=x force=t\t');
      await s.waitFor('force=true', { from: m2 });
    } finally {
      s.kill();
    }
  });

  test('history is written to the file and recalled with the up arrow on the next start', async () => {
    const history = join(dir, 'shared-history');
    const first = start([], history);
    try {
      await first.s.waitFor('(QEMU) ');
      first.s.write('query-status\r');
      await first.s.waitFor('"running": true');
      first.s.write('echo a=1\r');
      await first.s.waitFor('{"return": {"a": 1}}');
      first.s.write('\x04');
      assert.equal(await first.s.exited, 0);
    } finally {
      first.s.kill();
    }
    assert.equal(readFileSync(history, 'utf8'), 'query-status\necho a=1\n');
    const second = start([], history);
    try {
      await second.s.waitFor('(QEMU) ');
      second.s.write('\x1b[A');
      await second.s.waitFor('(QEMU) echo a=1');
      second.s.write('\x1b[A');
      await second.s.waitFor(/\(QEMU\) query-status$/m);
      second.s.write('\r');
      await second.s.waitFor('"running": true');
    } finally {
      second.s.kill();
    }
  });

  test('transaction( switches to the TRANS> prompt and ) sends the actions', async () => {
    const { s } = start(['-v']);
    try {
      await s.waitFor('(QEMU) ');
      s.write('transaction(\r');
      await s.waitFor('TRANS> ');
      s.write('block-dirty-bitmap-add node=drive0 name=bitmap1\r');
      await s.waitFor(/bitmap1\nTRANS> $/);
      s.write(')\r');
      await s.waitFor(
        '{"execute": "transaction", "arguments": {"actions": [{"type": "block-dirty-bitmap-add", "data": {"node": "drive0", "name": "bitmap1"}}]}}',
      );
      await s.waitFor('CommandNotFound');
      await s.waitFor(/CommandNotFound.*\n\(QEMU\) $/);
    } finally {
      s.kill();
    }
  });

  test('parse errors are explained and the shell goes on', async () => {
    const { s } = start();
    try {
      await s.waitFor('(QEMU) ');
      s.write('echo a=1 a=2\r');
      await s.waitFor('Error while parsing command line: Cannot set "a" multiple times');
      await s.waitFor('command format: <command-name> [arg-name1=arg1] ... [arg-nameN=argN]');
      s.write('echo a=1\r');
      await s.waitFor('{"return": {"a": 1}}');
    } finally {
      s.kill();
    }
  });

  test('Ctrl-C clears the line, abandons a transaction, and twice on an empty line exits', async () => {
    const { s } = start();
    try {
      await s.waitFor('(QEMU) ');
      s.write('query-sta');
      await s.waitFor('query-sta');
      s.write('\x03');
      await s.waitForScreenEnd(['(QEMU) query-sta^C', '(QEMU)']);
      s.write('transaction(\r');
      await s.waitFor('TRANS> ');
      s.write('abo');
      await s.waitForScreenEnd(['TRANS> abo']);
      s.write('\x03');
      await s.waitForScreenEnd(['TRANS> abo^C', 'Transaction abandoned', '(QEMU)']);
      s.write('\x03');
      await s.waitFor('press Ctrl-C again or Ctrl-D');
      s.write('\x03');
      assert.equal(await s.exited, 0);
    } finally {
      s.kill();
    }
  });

  test('quit: QEMU closes the connection, the shell says so and exits 0', async () => {
    const { s } = start();
    try {
      await s.waitFor('(QEMU) ');
      s.write('quit\r');
      await s.waitFor('Connection closed by QEMU');
      assert.equal(await s.exited, 0);
    } finally {
      s.kill();
    }
  });

  test('a lost connection is reported and the shell exits 3', async () => {
    const { s } = start();
    try {
      await s.waitFor('(QEMU) ');
      s.write('drop\r');
      await s.waitFor('Disconnected from fake: Connection reset by peer');
      assert.equal(await s.exited, 3);
    } finally {
      s.kill();
    }
  });

  test('-p pretty-prints with sorted keys and indent 4', async () => {
    const { s } = start(['-p']);
    try {
      await s.waitFor('(QEMU) ');
      s.write('query-status\r');
      await s.waitFor(
        '{\n    "return": {\n        "running": true,\n        "singlestep": false,\n        "status": "running"\n    }\n}',
      );
    } finally {
      s.kill();
    }
  });

  test('-H: the HMP shell', async () => {
    const { s } = start(['-H']);
    try {
      await s.waitFor('(QEMU) ');
      assert.equal(s.screen()[0], 'Welcome to the HMP shell!');
      s.write('info st\t');
      await s.waitFor('info status');
      s.write('\r');
      await s.waitFor(/hmp: info status\n\(QEMU\) $/);
    } finally {
      s.kill();
    }
  });
});
