// `transaction` (qapi/transaction.json): its actions run all or nothing. Modelled actions: abort,
// the dirty-bitmap ones, blockdev-backup and drive-backup; the snapshot actions answer that the
// simulator does not implement them. QEMU prepares every action, then commits them all or aborts them
// all; the simulator applies the bitmap actions in order, restoring the bitmaps on a failure, and
// starts the backup jobs once every other action succeeded.
import { QmpCommandError } from '../errors/qmp-command-error.js';
import type { QmpCommandContext } from '../server/index.js';
import type { SimBitmap } from './sim-block.js';
import type { SimArgs, SimMachine, SimRegister } from './sim-commands.js';
import { bitmapCommands } from './sim-commands-bitmaps.js';

/** A registered command's handler, as the simulator keeps them. */
type SimHandler = (args: SimArgs, ctx: QmpCommandContext) => unknown;

const JOB_ACTIONS = new Set(['blockdev-backup', 'drive-backup']);

interface Action {
  readonly type: string;
  readonly data: SimArgs;
}

/** Every node's bitmaps as they are now, to put back after a failed transaction. */
function saveBitmaps(sim: SimMachine): () => void {
  const saved = [...sim.block.nodes.values()].map((n) => ({
    node: n,
    bitmaps: n.bitmaps?.map((b): [SimBitmap, boolean] => [b, b.recording]),
  }));
  return () => {
    for (const { node, bitmaps } of saved) {
      if (bitmaps === undefined) {
        delete node.bitmaps;
        continue;
      }
      node.bitmaps = bitmaps.map(([b, recording]) => {
        b.recording = recording;
        return b;
      });
    }
  };
}

/** Registers `transaction`; `handler` finds the backup commands' own handlers. */
export function registerTransactionCommand(
  reg: SimRegister,
  sim: SimMachine,
  handler: (name: string) => SimHandler | undefined,
): void {
  const bitmaps = bitmapCommands(sim);
  reg('transaction', async (a, ctx) => {
    const actions = (Array.isArray(a['actions']) ? a['actions'] : []) as Action[];
    const properties = (a['properties'] ?? {}) as SimArgs;
    const grouped = properties['completion-mode'] === 'grouped';
    const restore = saveBitmaps(sim);
    const jobs: Action[] = [];
    try {
      for (const action of actions) {
        if (grouped && !JOB_ACTIONS.has(action.type))
          throw new QmpCommandError(
            'GenericError',
            `Action '${action.type}' does not support Transaction property completion-mode = grouped`,
          );
        const bitmap = bitmaps[action.type];
        if (action.type === 'abort')
          throw new QmpCommandError('GenericError', 'Transaction aborted using Abort action');
        else if (bitmap !== undefined) bitmap(action.data ?? {});
        else if (JOB_ACTIONS.has(action.type)) jobs.push(action);
        else
          throw new QmpCommandError(
            'GenericError',
            `The simulated QEMU (qmpkit sim) does not implement the transaction action ${action.type}`,
          );
      }
      for (const job of jobs) await handler(job.type)?.(job.data ?? {}, ctx);
    } catch (err) {
      restore();
      throw err;
    }
    return {};
  });
}
