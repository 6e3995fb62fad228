// Handlers for the commands QEMU 7.2 also runs out of band to get a stuck VM going again
// (qapi/yank.json, migration.json): yank and migrate-recover.
import { QmpCommandError } from '../errors/qmp-command-error.js';
import type { SimMachine, SimRegister } from './sim-commands.js';

/** Registers query-yank, yank and migrate-recover. */
export function registerYankCommands(reg: SimRegister, sim: SimMachine): void {
  // QEMU registers a yank instance for each socket chardev; monitors on stdio have none.
  const yankable = (): Array<{ label: string; index: number }> =>
    sim.config.monitors.flatMap((m, index) => (m.address === 'stdio' ? [] : [{ label: m.label, index }]));
  reg('query-yank', () => yankable().map((m) => ({ type: 'chardev', id: m.label })), { allowOob: true });
  reg(
    'yank',
    (a) => {
      const instances = Array.isArray(a['instances']) ? (a['instances'] as Array<Record<string, unknown>>) : [];
      // Every instance must exist before anything is yanked.
      const targets = instances.map((inst) => {
        const m = inst['type'] === 'chardev' ? yankable().find((x) => x.label === inst['id']) : undefined;
        if (m === undefined) throw new QmpCommandError('DeviceNotFound', 'Instance not found');
        return m;
      });
      // Yanking a monitor's chardev shuts its connection down at once: no reply reaches the client.
      for (const t of targets) void sim.monitors[t.index]?.session?.close();
    },
    { allowOob: true },
  );
  reg(
    'migrate-recover',
    () => {
      throw new QmpCommandError('GenericError', 'Migrate recover can only be run when postcopy is paused.');
    },
    { allowOob: true },
  );
}
