// simulator/: a simulated QEMU 7.2 x86_64 on the server framework: QEMU's command line (-qmp, -mon,
// -chardev, -readconfig, -drive, -device ...), run states, block devices with trays and media,
// devices and buses (PCI slots, root ports, USB), networking, QOM, objects, an HMP subset, migration
// parameters. Imports server, transport, protocol, wire, schema, errors, limits, trace and qapi
// types; never client, proxy, launcher or cli.
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
export type { SimNetdev, SimNetwork, SimNic } from './sim-netdev.js';
