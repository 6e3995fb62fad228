// simulator/: a simulated QEMU x86_64 (7.2, or another bundled release) on the server framework: QEMU's command line (-qmp, -mon,
// -chardev, -readconfig, -drive, -device ...), run states, block devices with trays and media,
// devices and buses (PCI slots, root ports, USB), networking, QOM, objects, an HMP subset, block jobs,
// migration, fault injection. Imports server, transport, protocol, wire, schema, errors, limits, trace
// and qapi types; never client, proxy, launcher or cli.
export { parseConfigFile, parseKeyValues } from './qemu-options.js';
export { QmpSimulator, type SimIoError, type SimulatorOptions, startSimulator } from './qmp-simulator.js';
export { QEMU_7_2_RUNSTATE_TRANSITIONS, type SimRunState, SimRunStateMachine } from './run-state.js';
export { orderBySchema } from './schema-order.js';
export {
  parseSimArgs,
  type SimConfig,
  type SimDeviceConfig,
  type SimDriveConfig,
  type SimMonitorConfig,
} from './sim-config.js';
export type { SimDevice, SimDevices, SimObject } from './sim-devices.js';
export { parseFaultSpec, type SimFaultSpec, SimFaults } from './sim-faults.js';
export { type SimJob, type SimJobStatus, SimJobs, type SimJobType } from './sim-jobs.js';
export { MIGRATION_CAPABILITIES } from './sim-migration.js';
export type { SimNetdev, SimNetwork, SimNic } from './sim-netdev.js';
export { DEFAULT_SIM_RELEASE, fitToSchema, loadSimRelease, type SimRelease } from './sim-release.js';
