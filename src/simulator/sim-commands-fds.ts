// Handlers for passing file descriptors (qapi/misc.json: getfd, closefd, add-fd, remove-fd,
// query-fdsets). The simulator reads its monitors with Node's stream reads, which drop descriptors
// sent with SCM_RIGHTS (the kernel closes them), so every request arrives without one, and it answers
// exactly as QEMU 7.2 does then: nothing is ever held, and naming one gets QEMU's "not found".
import { QmpCommandError } from '../errors/qmp-command-error.js';
import type { SimRegister } from './sim-commands.js';

const NO_FD = 'No file descriptor supplied via SCM_RIGHTS';

/** Registers the fd commands, answered as QEMU 7.2 answers them when no descriptor came. */
export function registerFdCommands(reg: SimRegister): void {
  reg('getfd', () => {
    throw new QmpCommandError('GenericError', NO_FD);
  });
  reg('closefd', (a) => {
    throw new QmpCommandError('GenericError', `File descriptor named '${String(a['fdname'])}' not found`);
  });
  reg('add-fd', () => {
    throw new QmpCommandError('GenericError', NO_FD);
  });
  reg('remove-fd', (a) => {
    const which =
      a['fd'] === undefined
        ? `fdset-id:${String(a['fdset-id'])}`
        : `fdset-id:${String(a['fdset-id'])}, fd:${String(a['fd'])}`;
    throw new QmpCommandError('GenericError', `File descriptor named '${which}' not found`);
  });
  reg('query-fdsets', () => []);
}
