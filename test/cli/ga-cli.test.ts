// `qmpkit ga` and `qmpkit ga-shell` as a user runs them, against the simulated guest agent: one-shot
// commands with exec's exit codes, and the shell in a pseudo-terminal with completion from the
// agent's schema.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type QmpSimulator, startSimulator } from '../../src/simulator/index.js';
import { PtySession } from './helpers/pty.js';
import { QMPKIT, qmpkit } from './helpers/run-cli.js';

describe('qmpkit ga and ga-shell against the simulated agent', { concurrency: false }, () => {
  let dir = '';
  let qga = '';
  let sim: QmpSimulator | undefined;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qmpkit-ga-cli-'));
    qga = join(dir, 'qga.sock');
    sim = await startSimulator({
      argv: [
        '-chardev',
        `socket,id=qga0,path=${qga},server=on,wait=off`,
        '-device',
        'virtio-serial',
        '-device',
        'virtserialport,chardev=qga0,name=org.qemu.guest_agent.0',
        '-sim-qga-block',
        'guest-file-write',
      ],
    });
  });
  after(async () => {
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('ga: the return value on stdout, typed key=value, and exec exit codes', async () => {
    const ping = await qmpkit(['ga', qga, 'guest-ping']);
    assert.deepEqual([ping.code, ping.stdout, ping.stderr], [0, '{}\n', '']);
    const started = await qmpkit(['ga', qga, 'guest-exec', 'path=echo', 'arg=["hi there"]', 'capture-output=true']);
    assert.equal(started.code, 0, started.stderr);
    const { pid } = JSON.parse(started.stdout) as { pid: number };
    const status = await qmpkit(['ga', qga, `guest-exec-status pid=${pid}`]);
    assert.equal(status.code, 0, status.stderr);
    const out = JSON.parse(status.stdout) as { exited: boolean; exitcode: number; 'out-data': string };
    assert.equal(Buffer.from(out['out-data'], 'base64').toString(), 'hi there\n');
    const blocked = await qmpkit(['ga', qga, 'guest-file-write', 'handle=1000', 'buf-b64=aGk=']);
    assert.deepEqual(
      [blocked.code, blocked.stdout, blocked.stderr],
      [1, '', 'qmpkit ga: CommandNotFound: Command guest-file-write has been disabled\n'],
    );
    const usage = await qmpkit(['ga', qga]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /missing COMMAND/);
    const noSocket = await qmpkit(['ga', join(dir, 'none.sock'), 'guest-ping']);
    assert.equal(noSocket.code, 3);
    assert.match(
      noSocket.stderr,
      /ENOENT: no such socket \(is the VM running with its guest agent's -chardev on this path\?\)/,
    );
    sim?.guestAgent?.setFaults({ notRunning: true });
    try {
      const silent = await qmpkit(['ga', qga, 'guest-ping', '--connect-timeout-ms', '200']);
      assert.equal(silent.code, 3);
      assert.match(silent.stderr, /did not answer guest-sync-delimited within \d+ ms/);
    } finally {
      sim?.guestAgent?.setFaults({ notRunning: false });
    }
  });

  test('ga-shell in a pseudo-terminal: banner, a command, completion from the agent schema, an error', async () => {
    const s = new PtySession([process.execPath, QMPKIT, 'ga-shell', '--no-history', qga]);
    try {
      await s.waitFor('(QGA) ');
      const [welcome] = s.screen();
      assert.equal(welcome, 'Welcome to the guest agent shell!');
      s.write('guest-ping\r');
      await s.waitFor('{"return": {}}');
      const m = s.mark();
      s.write('guest-get-os\t');
      await s.waitForScreenEnd(['(QGA) guest-get-osinfo']);
      s.write('\r');
      await s.waitFor('"id": "debian"', { from: m });
      s.write('guest-file-open pa\t');
      await s.waitForScreenEnd(['(QGA) guest-file-open path=']);
      s.write('/nope\r');
      await s.waitFor(
        `{"error": {"class": "GenericError", "desc": "failed to open file '/nope' (mode: 'r'): No such file or directory"}}`,
        { from: m },
      );
      s.write('\x04');
      assert.equal(await s.exited, 0);
    } finally {
      s.kill();
    }
  });
});
