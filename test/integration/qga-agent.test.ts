// QgaClient against the real qemu-ga, run as a host process on a private socket with everything
// that could change the machine blocked (test/helpers/qga.ts).

import { requireQga, startQga } from '../helpers/qga.js';
import { qgaClientCases } from '../helpers/qga-cases.js';

qgaClientCases('real qemu-ga', async (t) => {
  if (!requireQga(t)) return undefined;
  const ga = await startQga();
  return {
    socketPath: ga.socketPath,
    pause: () => ga.proc.kill('SIGSTOP'),
    resume: () => ga.proc.kill('SIGCONT'),
    kill: () => ga.proc.kill('SIGKILL'),
    stop: () => ga.stop(),
  };
});
