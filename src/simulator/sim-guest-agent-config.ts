import { QmpUsageError } from '../errors/qmp-error.js';
import type { SimGuestAgentFaults } from './sim-guest-agent.js';

/** The port name qemu-ga opens in the guest (`-device virtserialport,name=...`). */
export const GUEST_AGENT_PORT_NAME = 'org.qemu.guest_agent.0';

/** The guest agent's channel: the chardev behind its virtserialport, served by the simulator. */
export interface SimGuestAgentConfig {
  /** The chardev id (`qga0`). */
  readonly chardev: string;
  /** Where it listens: `unix:PATH,server=on,wait=off` or `tcp:HOST:PORT,server=on,wait=off`. */
  readonly address: string;
}

/**
 * Finds `-device virtserialport,chardev=ID,name=org.qemu.guest_agent.0` and resolves its chardev
 * with `serverAddress` (the -chardev grammar of the monitors).
 */
export function guestAgentChannel(
  devices: readonly { driver: string; props: Record<string, string> }[],
  chardevs: ReadonlyMap<string, Record<string, string>>,
  serverAddress: (opts: Record<string, string>, what: string) => { address: string },
): SimGuestAgentConfig | undefined {
  const port = devices.find((d) => d.driver === 'virtserialport' && d.props['name'] === GUEST_AGENT_PORT_NAME);
  if (port === undefined) return undefined;
  const id = port.props['chardev'];
  if (id === undefined) throw new QmpUsageError(`-device virtserialport,name=${GUEST_AGENT_PORT_NAME}: needs chardev=`);
  const ch = chardevs.get(id);
  if (ch === undefined)
    throw new QmpUsageError(`-device virtserialport: Property 'virtserialport.chardev' can't find value '${id}'`);
  return { chardev: id, address: serverAddress(ch, `-chardev id=${id}`).address };
}

/**
 * `-sim-qga-fault not-running,stale,slow=MS` (faults of the simulated guest agent) and
 * `-sim-qga-block CMD,CMD` (qemu-ga's `-b`).
 */
export function parseGuestAgentFaults(text: string, into: SimGuestAgentFaults, block = false): void {
  if (block) {
    into.blocked = [...(into.blocked ?? []), ...text.split(',').filter((c) => c !== '')];
    return;
  }
  for (const part of text.split(',')) {
    const [k, v] = part.split('=', 2);
    if (k === 'not-running' && v === undefined) into.notRunning = true;
    else if (k === 'stale' && v === undefined) into.staleOnConnect = true;
    else if (k === 'slow' && v !== undefined && /^\d+$/.test(v)) into.replyDelayMs = Number(v);
    else throw new QmpUsageError(`-sim-qga-fault ${text}: expected not-running, stale or slow=MS (comma-separated)`);
  }
}
