// Differential conformance: every request line of scenarios.ts goes to a real QEMU 7.2 and to the
// simulator started with the same options; the replies must be byte-identical after normalizing
// only timestamps, the version/package strings, auto node names, thread ids and temp paths.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startSimulator } from '../../src/simulator/index.js';
import { requireQemu, startQemu } from '../helpers/qemu.js';
import { RawPeer } from './raw-peer.js';
import { KNOWN_DIFFERENCES, SCENARIOS, type Scenario } from './scenarios.js';
import { DEVICE_SCENARIOS } from './scenarios-devices.js';
import { JOB_SCENARIOS, type JobScenario } from './scenarios-jobs.js';

function normalize(line: string, dirs: readonly string[]): string {
  let out = line;
  for (const d of dirs) out = out.replaceAll(d, '$DIR');
  return out
    .replace(/"seconds": \d+/g, '"seconds": S')
    .replace(/"microseconds": \d+/g, '"microseconds": U')
    .replace(/"micro": \d+/g, '"micro": M')
    .replace(/"package": "[^"]*"/g, '"package": P')
    .replace(/"7\.2\.\d+[^"]*\\r\\n"/g, '"VERSION\\r\\n"')
    .replace(/#block\d+/g, '#blockN')
    .replace(/"thread-id": \d{3,}/g, '"thread-id": T');
}

function isFloatingEvent(line: string, sc: Scenario & Partial<JobScenario>): boolean {
  return line.includes('"event": "DEVICE_DELETED"') || (sc.floating?.test(line) ?? false);
}

interface Transcript {
  greeting: string;
  replies: string[][];
}

async function play(
  sc: Scenario & Partial<JobScenario>,
  socketPath: string,
  dir: string,
  sockDir: string,
): Promise<Transcript> {
  const peer = await RawPeer.open(socketPath);
  try {
    const greeting = await peer.greeting();
    if (sc.negotiate) await peer.exchange('{"execute":"qmp_capabilities","arguments":{"enable":["oob"]}}\n');
    const replies: string[][] = [];
    for (const [i, raw] of sc.lines.entries()) {
      const line = raw.replaceAll('$IMG', join(dir, 'cd.img'));
      const last = sc.endsWithQuit === true && i === sc.lines.length - 1;
      const out = await peer.exchange(`${line}\n`, last);
      replies.push(out.map((l) => (sc.normalize ?? String)(normalize(l, [sockDir, dir]))));
    }
    return { greeting: normalize(greeting, [sockDir, dir]), replies };
  } finally {
    peer.close();
  }
}

for (const sc of [...SCENARIOS, ...JOB_SCENARIOS, ...DEVICE_SCENARIOS] as (Scenario & Partial<JobScenario>)[]) {
  test(`conformance: ${sc.name}`, { timeout: 120_000 }, async (t) => {
    if (!requireQemu(t)) return;
    const dir = mkdtempSync(join(tmpdir(), 'qmpkit-conf-'));
    writeFileSync(join(dir, 'cd.img'), Buffer.alloc(1 << 20));
    const args = sc.args.map((a) => a.replaceAll('$IMG', join(dir, 'cd.img')));
    const simDir = mkdtempSync(join(tmpdir(), 'qmpkit-conf-sim-'));
    const simSock = join(simDir, 'qmp.sock');
    const monitorArgs = (path: string): string[] =>
      sc.pretty
        ? ['-chardev', `socket,id=qmp0,path=${path},server=on,wait=off`, '-mon', 'chardev=qmp0,mode=control,pretty=on']
        : ['-qmp', `unix:${path},server=on,wait=off`];
    const qemu = await startQemu({ args, pretty: sc.pretty ?? false });
    const sim = await startSimulator({ argv: [...args, ...monitorArgs(simSock)] });
    try {
      const real = await play(sc, qemu.socketPath, dir, qemu.dir);
      const ours = await play(sc, simSock, dir, simDir);
      assert.equal(ours.greeting, real.greeting, 'greeting');
      const problems: string[] = [];
      let nonTrivial = 0;
      // QEMU sends DEVICE_DELETED when the device is really gone (an RCU callback, a PCI unplug
      // completed after a reset), so which reply it precedes depends on load, and on a loaded
      // machine a late one can even come after the scenario ends. Each line is compared without
      // them; the simulator's must be QEMU's, in order, give or take the last one on either side.
      const floating = (rs: string[][]): string[] => rs.flat().filter((l) => isFloatingEvent(l, sc));
      const simDeleted = floating(ours.replies);
      const qemuDeleted = floating(real.replies);
      const both = Math.min(simDeleted.length, qemuDeleted.length);
      assert.deepEqual(simDeleted.slice(0, both), qemuDeleted.slice(0, both), 'DEVICE_DELETED events');
      assert.ok(Math.abs(qemuDeleted.length - simDeleted.length) <= 1, 'at most the last DEVICE_DELETED may be late');
      for (let i = 0; i < sc.lines.length; i++) {
        const r = (real.replies[i] ?? []).filter((l) => !isFloatingEvent(l, sc));
        const o = (ours.replies[i] ?? []).filter((l) => !isFloatingEvent(l, sc));
        assert.ok((real.replies[i] ?? []).length > 0 || sc.lines[i] === '', `QEMU answered line ${i}: ${sc.lines[i]}`);
        if (/"return": (?!\{\s*\}|\[\s*\])/.test(r.join(''))) nonTrivial++;
        const key = `${sc.name}/${i}`;
        if (JSON.stringify(r) !== JSON.stringify(o) && KNOWN_DIFFERENCES[key] === undefined) {
          problems.push(`line ${i}: ${sc.lines[i]}\n  QEMU: ${r.join('  ').trim()}\n  sim:  ${o.join('  ').trim()}`);
        }
      }
      assert.ok(
        nonTrivial > 0 ||
          sc.name === 'JSON errors and recovery' ||
          sc.name === 'request errors' ||
          sc.name === 'negotiation',
        'some replies carry data',
      );
      assert.deepEqual(problems, [], `${problems.length} difference(s):\n${problems.join('\n')}`);
    } finally {
      await sim.close();
      await qemu.stop();
      rmSync(dir, { recursive: true, force: true });
      rmSync(simDir, { recursive: true, force: true });
    }
  });
}
