// Handlers for dirty bitmaps (qapi/block-core.json: block-dirty-bitmap-add, -remove, -clear, -enable,
// -disable, -merge), with QEMU 7.2's checks and texts. Nothing writes to simulated nodes, so a bitmap
// stays empty (count 0); what matters to a backup tool is which bitmaps exist and their state.
import { QmpCommandError } from '../errors/qmp-command-error.js';
import type { SimBitmap, SimBlockNode } from './sim-block.js';
import type { SimArgs, SimMachine, SimRegister } from './sim-commands.js';
import { lookup } from './sim-commands-jobs.js';

/** QEMU's BDRV_BITMAP_MAX_NAME_SIZE. */
const MAX_NAME_BYTES = 1023;
/** QEMU's default granularity for nodes without a cluster size. */
const DEFAULT_GRANULARITY = 65536;

function find(node: SimBlockNode, name: string): SimBitmap {
  const b = node.bitmaps?.find((x) => x.name === name);
  if (b === undefined) throw new QmpCommandError('GenericError', `Dirty bitmap '${name}' not found`);
  return b;
}

function add(sim: SimMachine, a: SimArgs): void {
  const name = String(a['name']);
  const node = lookup(sim, String(a['node'])).node;
  if (name === '') throw new QmpCommandError('GenericError', 'Bitmap name cannot be empty');
  if (Buffer.byteLength(name) > MAX_NAME_BYTES)
    throw new QmpCommandError('GenericError', `Bitmap name too long: ${name}`);
  const g = a['granularity'];
  const granularity = typeof g === 'number' ? g : DEFAULT_GRANULARITY;
  if (granularity < 512 || (granularity & (granularity - 1)) !== 0 || granularity > 2 ** 31)
    throw new QmpCommandError('GenericError', 'Granularity must be power of 2 and at least 512');
  const persistent = a['persistent'] === true;
  if (persistent && node.driver !== 'qcow2')
    throw new QmpCommandError(
      'GenericError',
      `Can't store persistent bitmaps to ${node.nodeName}: Operation not supported`,
    );
  if (node.bitmaps?.some((x) => x.name === name))
    throw new QmpCommandError('GenericError', `Bitmap already exists: ${name}`);
  node.bitmaps ??= [];
  node.bitmaps.unshift({ name, granularity, persistent, recording: a['disabled'] !== true });
}

function merge(sim: SimMachine, a: SimArgs): void {
  const node = lookup(sim, String(a['node'])).node;
  find(node, String(a['target']));
  const sources = Array.isArray(a['bitmaps']) ? a['bitmaps'] : [];
  for (const s of sources) {
    if (typeof s === 'string') find(node, s);
    else {
      const ref = s as Record<string, unknown>;
      find(lookup(sim, String(ref['node'])).node, String(ref['name']));
    }
  }
}

/** The bitmap commands, also the transaction's actions of the same names. */
export function bitmapCommands(sim: SimMachine): Record<string, (a: SimArgs) => void> {
  const named = (a: SimArgs): { node: SimBlockNode; bitmap: SimBitmap } => {
    const node = lookup(sim, String(a['node'])).node;
    return { node, bitmap: find(node, String(a['name'])) };
  };
  return {
    'block-dirty-bitmap-add': (a) => add(sim, a),
    'block-dirty-bitmap-remove': (a) => {
      const { node, bitmap } = named(a);
      node.bitmaps?.splice(node.bitmaps.indexOf(bitmap), 1);
    },
    'block-dirty-bitmap-clear': (a) => {
      named(a);
    },
    'block-dirty-bitmap-enable': (a) => {
      named(a).bitmap.recording = true;
    },
    'block-dirty-bitmap-disable': (a) => {
      named(a).bitmap.recording = false;
    },
    'block-dirty-bitmap-merge': (a) => merge(sim, a),
  };
}

/** Registers the bitmap commands. */
export function registerBitmapCommands(reg: SimRegister, sim: SimMachine): void {
  for (const [name, fn] of Object.entries(bitmapCommands(sim))) reg(name, fn);
}
