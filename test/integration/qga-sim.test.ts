// The same QgaClient cases as against the real qemu-ga (qga-agent.test.ts), against the simulated
// agent of `qmpkit sim ... -device virtserialport,chardev=qga0,name=org.qemu.guest_agent.0`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator } from '../../src/simulator/index.js';
import { QGA_BLOCKED_COMMANDS } from '../helpers/qga.js';
import { qgaClientCases } from '../helpers/qga-cases.js';

/** The command line that gives the simulated VM a guest agent on `socketPath`. */
export function guestAgentArgv(socketPath: string): string[] {
  return [
    '-chardev',
    `socket,id=qga0,path=${socketPath},server=on,wait=off`,
    '-device',
    'virtio-serial',
    '-device',
    'virtserialport,chardev=qga0,name=org.qemu.guest_agent.0',
  ];
}

qgaClientCases('simulated agent', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-qga-sim-'));
  const socketPath = join(dir, 'qga.sock');
  // The real agent's block list, so that both answer the same.
  const sim = await startSimulator({
    argv: [...guestAgentArgv(socketPath), '-sim-qga-block', QGA_BLOCKED_COMMANDS.join(',')],
  });
  const agent = sim.guestAgent;
  if (agent === undefined) throw new Error('no guest agent');
  return {
    socketPath,
    pause: () => agent.setFaults({ notRunning: true }),
    resume: () => agent.setFaults({ notRunning: false }),
    kill: () => void agent.close(),
    stop: async () => {
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
