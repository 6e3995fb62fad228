// launcher/: spawns qemu-system-* with a private QMP monitor, waits for its greeting, keeps its stderr
// tail for error reports, and shuts it down (quit, SIGTERM, SIGKILL). Imports transport, client,
// protocol, errors, limits and trace only.

export { LAUNCH_CHARDEV_ID, type LaunchOptions, launch } from './launch.js';
export type { LaunchFd } from './launch-fds.js';
export { type QemuExitStatus, QemuProcess, type QemuShutdownStep } from './qemu-process.js';
