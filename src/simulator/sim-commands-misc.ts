// Handlers for the rest QEMU answers without a VM to back them: HMP passthrough, migration
// parameters, balloon, iothreads, CPU hotplug, yank (qapi/misc.json,
// migration.json, machine.json, yank.json).
import { QmpCommandError } from '../errors/qmp-command-error.js';
import type { SimMachine, SimRegister } from './sim-commands.js';
import { runHmp } from './sim-hmp.js';

/** Migration parameters of a fresh QEMU 7.2 (query-migrate-parameters). */
export const DEFAULT_MIGRATION_PARAMETERS: Record<string, unknown> = {
  'announce-initial': 50,
  'announce-max': 550,
  'announce-rounds': 5,
  'announce-step': 100,
  'compress-level': 1,
  'compress-threads': 8,
  'compress-wait-thread': true,
  'decompress-threads': 2,
  'throttle-trigger-threshold': 50,
  'cpu-throttle-initial': 20,
  'cpu-throttle-increment': 10,
  'cpu-throttle-tailslow': false,
  'tls-creds': '',
  'tls-hostname': '',
  'tls-authz': '',
  'max-bandwidth': 134217728,
  'downtime-limit': 300,
  'x-checkpoint-delay': 20000,
  'block-incremental': false,
  'multifd-channels': 2,
  'xbzrle-cache-size': 67108864,
  'max-postcopy-bandwidth': 0,
  'max-cpu-throttle': 99,
  'multifd-compression': 'none',
  'multifd-zlib-level': 1,
  'multifd-zstd-level': 1,
};

/** Registers HMP passthrough, migration and the other commands answered without a VM. */
export function registerMiscCommands(reg: SimRegister, sim: SimMachine): void {
  const c = sim.config;
  reg('human-monitor-command', (a) =>
    runHmp(
      {
        status: () => ({ running: sim.runstate.running, state: sim.runstate.state }),
        version: () => `${c.version.major}.${c.version.minor}.${c.version.micro}${c.package}`,
        name: () => c.name,
        uuid: () => c.uuid ?? '00000000-0000-0000-0000-000000000000',
        infoBlock: () => sim.block.infoBlock(),
        stop: () => sim.stop(),
        cont: () => sim.cont(),
        reset: () => sim.reset(),
        powerdown: () => sim.powerdown(),
      },
      String(a['command-line']),
    ),
  );

  reg('query-migrate-parameters', () => ({ ...sim.migration }));
  reg('migrate-set-parameters', (a) => {
    for (const [k, v] of Object.entries(a)) if (v !== undefined) sim.migration[k] = v;
  });
  reg('query-migrate', () => ({}));
  reg('query-balloon', () => {
    throw new QmpCommandError('DeviceNotActive', 'No balloon device has been activated');
  });
  reg('balloon', () => {
    throw new QmpCommandError('DeviceNotActive', 'No balloon device has been activated');
  });
  reg('query-hotpluggable-cpus', () => []);
  reg(
    'migrate-pause',
    () => {
      throw new QmpCommandError(
        'GenericError',
        'migrate-pause is currently only supported during postcopy-active state',
      );
    },
    { allowOob: true },
  );
}
