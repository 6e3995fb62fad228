// Handlers for QEMU's network commands (qapi/net.json): backends, link state, receive filters.
import type { SimMachine, SimRegister } from './sim-commands.js';

/** Registers netdev_add/netdev_del, set_link and query-rx-filter. */
export function registerNetCommands(reg: SimRegister, sim: SimMachine): void {
  const net = sim.devices.network;
  reg('netdev_add', (a) => net.add(a));
  reg('netdev_del', (a) => net.del(String(a['id'])));
  reg('set_link', (a) => net.setLink(String(a['name']), a['up'] === true));
  reg('query-rx-filter', (a) => net.rxFilter(typeof a['name'] === 'string' ? a['name'] : undefined));
}
