// Handlers for QEMU's machine, run-state, control and chardev queries and commands (qapi/machine.json,
// run-state.json, control.json, introspect.json, char.json).
import { QmpCommandError } from '../errors/qmp-command-error.js';
import type { SimMachine, SimRegister } from './sim-commands.js';

/** Registers the machine, run-state and control commands. */
export function registerMachineCommands(reg: SimRegister, sim: SimMachine): void {
  const c = sim.config;
  reg('query-version', () => ({ qemu: { ...c.version }, package: c.package }));
  reg('query-commands', () => sim.release.commandsReply());
  reg('query-qmp-schema', () => sim.release.schemaReply());
  reg('query-name', () => (c.name === undefined ? {} : { name: c.name }));
  reg('query-uuid', () => ({ UUID: c.uuid ?? '00000000-0000-0000-0000-000000000000' }));
  reg('query-kvm', () => ({ enabled: false, present: true }));
  reg('query-target', () => ({ arch: 'x86_64' }));
  reg('query-status', () => sim.status());
  reg('query-machines', () => [
    {
      name: 'pc-i440fx-7.2',
      alias: 'pc',
      'is-default': true,
      'cpu-max': 255,
      'hotpluggable-cpus': true,
      'numa-mem-supported': false,
      deprecated: false,
      'default-cpu-type': 'qemu64-x86_64-cpu',
      'default-ram-id': 'pc.ram',
    },
    {
      name: 'pc-q35-7.2',
      alias: 'q35',
      'cpu-max': 288,
      'hotpluggable-cpus': true,
      'numa-mem-supported': false,
      deprecated: false,
      'default-cpu-type': 'qemu64-x86_64-cpu',
      'default-ram-id': 'pc.ram',
    },
    { name: 'none', 'cpu-max': 1, 'hotpluggable-cpus': false, 'numa-mem-supported': false, deprecated: false },
  ]);
  reg('query-cpus-fast', () =>
    c.machine === 'none'
      ? []
      : [
          {
            'cpu-index': 0,
            'qom-path': '/machine/unattached/device[0]',
            'thread-id': process.pid,
            props: { 'socket-id': 0, 'core-id': 0, 'thread-id': 0 },
            target: 'x86_64',
          },
        ],
  );
  reg('query-chardev', () =>
    c.monitors.map((m, i) => {
      const connected = sim.monitors[i]?.session !== undefined;
      const where = m.address === 'stdio' ? 'stdio' : m.address.replace(',wait=off', '');
      return {
        label: m.label,
        filename: connected || m.address === 'stdio' ? where : `disconnected:${where}`,
        'frontend-open': true,
      };
    }),
  );

  reg('stop', () => sim.stop());
  reg('cont', () => sim.cont());
  reg('system_reset', () => sim.reset());
  reg('system_powerdown', () => sim.powerdown());
  reg('system_wakeup', () => {
    if (c.machine === 'none')
      throw new QmpCommandError('GenericError', 'wake-up from suspend is not supported by this guest');
    if (sim.runstate.state !== 'suspended')
      throw new QmpCommandError('GenericError', 'Unable to wake up: guest is not in suspended state');
    sim.runstate.set('running');
    sim.emit('WAKEUP');
  });
  reg('quit', (_a, ctx) => {
    sim.emit('SHUTDOWN', { guest: false, reason: 'host-qmp-quit' });
    // QEMU exits after the reply; so do we.
    ctx.afterReply(() => {
      void sim.server.close().then(() => sim.exit('quit'));
    });
  });
}
