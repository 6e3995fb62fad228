// Differential: the same raw requests to the real qemu-ga and to the simulated agent, the reply
// bytes compared. Read-only and blocked commands only; both block the same list.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startSimulator } from '../../src/simulator/index.js';
import { QGA_BLOCKED_COMMANDS, requireQga, startQga } from '../helpers/qga.js';

/** Each request and the number of reply lines it gets (0xFF counts as one request). */
const REQUESTS: ReadonlyArray<readonly [string, number]> = [
  ['\xff{"execute": "guest-sync-delimited", "arguments": {"id": 9007199254740993}}\n', 2],
  ['{"execute": "guest-sync", "arguments": {"id": -5}}\n', 1],
  ['{"execute": "guest-ping"}\n', 1],
  ['{"execute": "guest-ping", "id": "a"}\n', 1],
  ['{"execute": "guest-nope"}\n', 1],
  ['{"execute": "guest-exec", "arguments": {"path": "/bin/true"}}\n', 1],
  ['{"execute": "guest-file-open", "arguments": {"path": "/etc/hostname"}}\n', 1],
  ['{"execute": "guest-ping", "arguments": {"x": 1}}\n', 1],
  ['{"execute": "guest-sync", "arguments": {}}\n', 1],
  ['{"execute": "guest-sync", "arguments": {"id": "a"}}\n', 1],
  ['{"execute": "guest-file-read", "arguments": {"handle": 5}}\n', 1],
  ['{"execute": "guest-exec-status", "arguments": {"pid": 5}}\n', 1],
  ['{"execute": "guest-ping", "arguments": null}\n', 1],
  ['{"arguments": {}}\n', 1],
  ['[1]\n', 1],
  ['garbage\n', 1],
  ['{"execute": "guest-ping", "exec-oob": "x"}\n', 1],
  ['{"execute": "guest-shutdown"}\n', 1],
];

async function transcript(path: string): Promise<string[]> {
  const s = connect(path);
  await new Promise<void>((resolve, reject) => {
    s.once('connect', resolve);
    s.once('error', reject);
  });
  let buf = Buffer.alloc(0);
  const out: string[] = [];
  s.on('data', (c: Buffer) => {
    buf = Buffer.concat([buf, c]);
  });
  try {
    for (const [req, lines] of REQUESTS) {
      s.write(Buffer.from(req, 'latin1'));
      const deadline = Date.now() + 10_000;
      let got = 0;
      while (got < lines) {
        const nl = buf.indexOf(10);
        if (nl < 0) {
          if (Date.now() > deadline) throw new Error(`no reply to ${req.trim()}`);
          await new Promise((r) => setTimeout(r, 5));
          continue;
        }
        out.push(buf.subarray(0, nl + 1).toString('latin1'));
        buf = buf.subarray(nl + 1);
        got++;
      }
    }
  } finally {
    s.destroy();
  }
  return out;
}

test('the simulated agent answers raw requests byte for byte as qemu-ga 7.2', async (t) => {
  if (!requireQga(t)) return;
  const ga = await startQga();
  let real: string[];
  try {
    real = await transcript(ga.socketPath);
  } finally {
    await ga.stop();
  }
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-qga-wire-'));
  const path = join(dir, 'qga.sock');
  const sim = await startSimulator({
    argv: [
      '-chardev',
      `socket,id=qga0,path=${path},server=on,wait=off`,
      '-device',
      'virtio-serial',
      '-device',
      'virtserialport,chardev=qga0,name=org.qemu.guest_agent.0',
      '-sim-qga-block',
      QGA_BLOCKED_COMMANDS.join(','),
    ],
  });
  try {
    const simulated = await transcript(path);
    assert.ok(
      real.some((l) => l.includes('has been disabled')),
      'the real agent answered non-trivially',
    );
    assert.deepEqual(simulated, real);
  } finally {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
