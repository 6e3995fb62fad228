// Handlers for QEMU's block commands (qapi/block.json, block-core.json): trays, media, nodes.
import { type SimMachine, type SimRegister, str } from './sim-commands.js';

/** Registers the block commands. */
export function registerBlockCommands(reg: SimRegister, sim: SimMachine): void {
  reg('query-block', () => sim.block.queryBlock());
  reg('query-named-block-nodes', () => [...sim.block.nodes.values()].reverse().map((n) => sim.block.nodeInfo(n)));
  reg('eject', (a) => sim.block.eject({ device: str(a['device']), id: str(a['id']), force: a['force'] === true }));
  reg('blockdev-open-tray', (a) => {
    const args = { device: str(a['device']), id: str(a['id']) };
    sim.block.openTray(sim.block.find(args), args, a['force'] === true);
  });
  reg('blockdev-close-tray', (a) => sim.block.closeTray({ device: str(a['device']), id: str(a['id']) }));
  reg('blockdev-remove-medium', (a) => sim.block.removeMedium(String(a['id'])));
  reg('blockdev-insert-medium', (a) => sim.block.insertMedium(String(a['id']), String(a['node-name'])));
  reg('blockdev-change-medium', (a) =>
    sim.block.changeMedium({
      device: str(a['device']),
      id: str(a['id']),
      filename: String(a['filename']),
      format: str(a['format']),
      force: a['force'] === true,
      'read-only-mode': str(a['read-only-mode']),
    }),
  );
  reg('blockdev-add', (a) => sim.block.add(a));
  reg('blockdev-del', (a) => sim.block.del(String(a['node-name'])));
}
