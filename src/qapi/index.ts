// qapi/: the generated types of every QEMU release whose schema ships with qmpkit (one folder per
// release, declarations equal in several releases in shared/), and compatibility ranges over them.
// Types only: no runtime code.
export type {
  Compat,
  CompatCommandsOf,
  CompatEvents,
  CompatEventsOf,
  Merge,
  NotInQemu,
  QemuReleaseName,
  QemuReleaseRange,
} from './compat.js';
export type { QemuReleaseMaps, QemuReleaseOrder } from './releases.js';
