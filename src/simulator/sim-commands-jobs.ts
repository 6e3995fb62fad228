// Handlers for QEMU's block jobs (qapi/block-core.json, job.json): blockdev-/drive-mirror,
// blockdev-/drive-backup, block-commit, block-stream, the job-* and block-job-* verbs, query-jobs
// and query-block-jobs. The checks run in QEMU 7.2's order so the first error is QEMU's.
import { statSync } from 'node:fs';
import { QmpCommandError } from '../errors/qmp-command-error.js';
import type { QmpCommandContext } from '../server/index.js';
import type { SimBlockNode } from './sim-block.js';
import { type SimArgs, type SimMachine, type SimRegister, str } from './sim-commands.js';
import { type SimJob, SimJobs, type SimJobType } from './sim-jobs.js';

interface Source {
  node: SimBlockNode;
  /** The backend name when `device` named one: QEMU's default job id. */
  backend: string | undefined;
}

/** QEMU's bdrv_lookup_bs(name, name): a backend's medium or a named node. */
export function lookup(sim: SimMachine, name: string): Source {
  const b = sim.block.backends.find((x) => x.name === name && x.name !== '');
  if (b) {
    if (!b.medium) throw new QmpCommandError('GenericError', `Device '${name}' has no medium`);
    return { node: b.medium, backend: b.name };
  }
  const node = sim.block.nodes.get(name);
  if (!node) throw new QmpCommandError('GenericError', `Cannot find device='${name}' nor node-name='${name}'`);
  return { node, backend: undefined };
}

/** QEMU's qmp_get_root_bs: like lookup, but the node must have no parent. */
function rootLookup(sim: SimMachine, jobs: SimJobs, name: string): Source {
  const src = lookup(sim, name);
  const mirrored = jobs.busy(src.node.nodeName);
  // A node under another node, or under a mirror's filter, is not a root any more.
  if ((src.backend === undefined && src.node.usedBy !== undefined) || mirrored?.type === 'mirror')
    throw new QmpCommandError('GenericError', 'Need a root block node');
  return src;
}

function notBusy(jobs: SimJobs, node: SimBlockNode): void {
  const j = jobs.busy(node.nodeName);
  if (j)
    throw new QmpCommandError(
      'GenericError',
      `Node '${node.nodeName}' is busy: block device is in use by block job: ${j.type}`,
    );
}

/**
 * `blockdev-del` of a node a job holds fails with QEMU's words: a mirror's source and a backup's
 * target are blocked by the job, a mirror's target is in use, a backup's source has the job's filter
 * over it.
 */
export function checkNodeNotInJob(jobs: SimJobs, name: string): void {
  const j = jobs.busy(name);
  if (!j) return;
  const source = j.nodes[0] === name;
  if (j.type === 'backup' && source) throw new QmpCommandError('GenericError', `Block device ${name} is in use`);
  if (j.type === 'mirror' && !source) throw new QmpCommandError('GenericError', `Node ${name} is in use`);
  throw new QmpCommandError('GenericError', `Node '${name}' is busy: block device is in use by block job: ${j.type}`);
}

/** Registers the block job commands on `jobs`. */
export function registerJobCommands(reg: SimRegister, sim: SimMachine, jobs: SimJobs): void {
  const later =
    (ctx: QmpCommandContext) =>
    (fn: () => void): void =>
      ctx.onReplyWritten(fn);

  const start = (
    a: SimArgs,
    ctx: QmpCommandContext,
    type: SimJobType,
    src: Source,
    targets: readonly SimBlockNode[],
    len: number,
  ): void => {
    const id = str(a['job-id']) ?? src.backend ?? '';
    jobs.checkId(id);
    const speed = typeof a['speed'] === 'number' ? a['speed'] : 0;
    if (speed < 0) {
      // QEMU creates the job before it sets the speed, and deletes it again.
      sim.emit('JOB_STATUS_CHANGE', { status: 'created', id });
      sim.emit('JOB_STATUS_CHANGE', { status: 'null', id });
      throw new QmpCommandError('GenericError', "Parameter 'speed' expects a non-negative value");
    }
    jobs.start(
      {
        id,
        type,
        len,
        speed,
        autoFinalize: a['auto-finalize'] !== false,
        autoDismiss: a['auto-dismiss'] !== false,
        needsComplete: type === 'mirror',
        nodes: [src.node.nodeName, ...targets.map((t) => t.nodeName)],
      },
      later(ctx),
    );
  };

  const mirror = (a: SimArgs, ctx: QmpCommandContext, target: () => SimBlockNode): void => {
    const src = rootLookup(sim, jobs, String(a['device']));
    const dst = target();
    notBusy(jobs, src.node);
    const sync = String(a['sync']);
    if (sync === 'incremental' || sync === 'bitmap')
      throw new QmpCommandError('GenericError', `Sync mode '${sync}' not supported`);
    if (dst === src.node) throw new QmpCommandError('GenericError', "Can't mirror node into itself");
    notBusy(jobs, dst);
    start(a, ctx, 'mirror', src, [dst], sync === 'none' ? 0 : src.node.virtualSize);
  };

  const backup = (a: SimArgs, ctx: QmpCommandContext, target: () => SimBlockNode): void => {
    const src = lookup(sim, String(a['device']));
    const dst = target();
    const sync = String(a['sync']);
    if ((sync === 'incremental' || sync === 'bitmap') && a['bitmap'] === undefined)
      throw new QmpCommandError('GenericError', `must provide a valid bitmap name for '${sync}' sync mode`);
    const bitmap = str(a['bitmap']);
    if (bitmap !== undefined && !src.node.bitmaps?.some((b) => b.name === bitmap))
      throw new QmpCommandError('GenericError', `Bitmap '${bitmap}' could not be found`);
    notBusy(jobs, src.node);
    notBusy(jobs, dst);
    // Nothing writes to simulated nodes: a bitmap is empty, so an incremental backup copies nothing.
    start(a, ctx, 'backup', src, [dst], bitmap === undefined ? src.node.virtualSize : 0);
  };

  // drive-mirror/drive-backup create their target image unless mode is 'existing'; the simulator
  // never writes files, so it only takes an existing one.
  const driveTarget = (a: SimArgs, src: () => Source) => (): SimBlockNode => {
    const s = src();
    const path = String(a['target']);
    if (a['mode'] !== 'existing') {
      if (s.node.driver === 'null-co' || s.node.driver === 'null-aio')
        throw new QmpCommandError('GenericError', `Format driver '${s.node.driver}' does not support image creation`);
      throw new QmpCommandError(
        'GenericError',
        "The simulated QEMU (qmpkit sim) does not create image files: use mode 'existing'",
      );
    }
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      throw new QmpCommandError('GenericError', `Could not open '${path}': No such file or directory`);
    }
    const node: SimBlockNode = {
      nodeName: sim.block.autoNodeName(),
      driver: str(a['format']) ?? 'raw',
      filename: path,
      readonly: false,
      virtualSize: size,
      actualSize: size,
      usedBy: undefined,
    };
    return node;
  };

  reg('blockdev-mirror', (a, ctx) => mirror(a, ctx, () => lookup(sim, String(a['target'])).node));
  reg('drive-mirror', (a, ctx) =>
    mirror(
      a,
      ctx,
      driveTarget(a, () => rootLookup(sim, jobs, String(a['device']))),
    ),
  );
  reg('blockdev-backup', (a, ctx) => backup(a, ctx, () => lookup(sim, String(a['target'])).node));
  reg('drive-backup', (a, ctx) =>
    backup(
      a,
      ctx,
      driveTarget(a, () => lookup(sim, String(a['device']))),
    ),
  );
  reg('block-commit', (a) => {
    const device = String(a['device']);
    let src: Source;
    try {
      src = lookup(sim, device);
    } catch {
      throw new QmpCommandError('DeviceNotFound', `Device '${device}' not found`);
    }
    notBusy(jobs, src.node);
    // The simulator's nodes have no backing files: the top is always the base.
    throw new QmpCommandError('GenericError', 'cannot commit an image into itself');
  });
  reg('block-stream', (a, ctx) => {
    const src = lookup(sim, String(a['device']));
    notBusy(jobs, src.node);
    // Without a backing file there is nothing to copy: the job ends before the reply.
    start(a, ctx, 'stream', src, [], 0);
  });

  reg('query-jobs', () => jobs.list().map((j) => SimJobs.jobInfo(j)));
  reg('query-block-jobs', () => jobs.list().map((j) => SimJobs.blockJobInfo(j)));

  const job = (a: SimArgs): SimJob => jobs.get(String(a['id']));
  const blockJob = (a: SimArgs, key = 'device'): SimJob => jobs.getBlock(String(a[key]));
  reg('job-cancel', (a, ctx) => jobs.cancel(job(a), true, later(ctx)));
  reg('job-pause', (a) => jobs.pause(job(a)));
  reg('job-resume', (a) => jobs.resume(job(a)));
  reg('job-complete', (a, ctx) => jobs.complete(job(a), later(ctx)));
  reg('job-finalize', (a) => jobs.finalize(job(a)));
  reg('job-dismiss', (a) => jobs.dismiss(job(a)));
  reg('block-job-cancel', (a, ctx) => jobs.cancel(blockJob(a), a['force'] === true, later(ctx)));
  reg('block-job-pause', (a) => jobs.pause(blockJob(a)));
  reg('block-job-resume', (a) => jobs.resume(blockJob(a)));
  reg('block-job-complete', (a, ctx) => jobs.complete(blockJob(a), later(ctx)));
  reg('block-job-finalize', (a) => jobs.finalize(blockJob(a, 'id')));
  reg('block-job-dismiss', (a) => jobs.dismiss(blockJob(a, 'id')));
  reg('block-job-set-speed', (a, ctx) => jobs.setSpeed(blockJob(a), Number(a['speed']), later(ctx)));
}
