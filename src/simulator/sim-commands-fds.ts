// Handlers for passing file descriptors (qapi/misc.json: getfd, closefd, add-fd, remove-fd,
// query-fdsets). Descriptors come with SCM_RIGHTS on unix-socket monitors when the native addon is
// there (the server keeps them, see QmpServerOptions.receiveFds); without it none ever arrives, and
// getfd and add-fd answer as QEMU does then.
import { QmpCommandError } from '../errors/qmp-command-error.js';
import type { QmpCommandContext } from '../server/index.js';
import type { SimMachine, SimRegister } from './sim-commands.js';

const NO_FD = 'No file descriptor supplied via SCM_RIGHTS';

function takeFd(ctx: QmpCommandContext): number {
  const fd = ctx.takeFd();
  if (fd === undefined) throw new QmpCommandError('GenericError', NO_FD);
  return fd;
}

/** Registers the fd commands on the simulated machine's descriptors. */
export function registerFdCommands(reg: SimRegister, sim: SimMachine): void {
  // QEMU names descriptors per monitor; a session served outside a monitor is its own.
  const monitorOf = (ctx: QmpCommandContext): object =>
    sim.monitors.find((m) => m.session === ctx.session) ?? ctx.session;
  reg('getfd', (a, ctx) => {
    sim.fds.getfd(monitorOf(ctx), takeFd(ctx), String(a['fdname']));
  });
  reg('closefd', (a, ctx) => {
    sim.fds.closefd(monitorOf(ctx), String(a['fdname']));
  });
  reg('add-fd', (a, ctx) => {
    const fdset = a['fdset-id'];
    const opaque = a['opaque'];
    return sim.fds.addFd(
      takeFd(ctx),
      typeof fdset === 'number' ? fdset : undefined,
      typeof opaque === 'string' ? opaque : undefined,
    );
  });
  reg('remove-fd', (a) => {
    const fd = a['fd'];
    sim.fds.removeFd(Number(a['fdset-id']), typeof fd === 'number' ? fd : undefined);
  });
  reg('query-fdsets', () => sim.fds.query());
}
