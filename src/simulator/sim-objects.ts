// QEMU 7.2's checks of `object-add` for the object types whose properties decide whether the
// object can be created at all (a `secret` needs its data), and `query-iothreads` over the objects.
import { readFileSync } from 'node:fs';
import { QmpCommandError } from '../errors/qmp-command-error.js';
import { isQemuIdentifier } from './qemu-identifier.js';
import type { SimObject } from './sim-devices.js';

/** IOThread polling defaults of QEMU 7.2 (`query-iothreads`). */
const IOTHREAD_POLL_MAX_NS = 32768;

/** Checks `object-add` arguments the schema accepted; throws QEMU's error. */
export function checkObjectAdd(qomType: string, id: string, props: Record<string, unknown>): void {
  if (!isQemuIdentifier(id)) throw new QmpCommandError('GenericError', "Parameter 'id' expects an identifier");
  if (qomType === 'secret' || qomType === 'secret_keyring') checkSecret(props);
}

function checkSecret(props: Record<string, unknown>): void {
  const data = props['data'];
  const file = props['file'];
  if (data !== undefined && file !== undefined) {
    throw new QmpCommandError('GenericError', "'file' and 'data' are mutually exclusive");
  }
  if (data === undefined && file === undefined) {
    throw new QmpCommandError('GenericError', "Either 'file' or 'data' must be provided");
  }
  let text: string;
  if (typeof file === 'string') {
    try {
      text = readFileSync(file, 'latin1');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT' ? 'No such file or directory' : code === 'EACCES' ? 'Permission denied' : String(err);
      // QEMU quotes the file name the way GLib does, with typographic quotes.
      throw new QmpCommandError(
        'GenericError',
        `Unable to read ${file}: Failed to open file \u201c${file}\u201d: ${why}`,
      );
    }
  } else text = String(data);
  if (props['format'] === 'base64' && !/^[A-Za-z0-9+/]*={0,2}$/.test(text.replace(/\s/g, ''))) {
    throw new QmpCommandError('GenericError', 'Base64 data contains invalid characters');
  }
}

/** `query-iothreads`: one entry per `iothread` object, with QEMU's polling defaults. */
export function queryIothreads(objects: Iterable<SimObject>, threadId: number): Array<Record<string, unknown>> {
  return [...objects]
    .filter((o) => o.qomType === 'iothread')
    .map((o) => ({
      id: o.id,
      'thread-id': threadId,
      'poll-max-ns': typeof o.props['poll-max-ns'] === 'number' ? o.props['poll-max-ns'] : IOTHREAD_POLL_MAX_NS,
      'poll-grow': typeof o.props['poll-grow'] === 'number' ? o.props['poll-grow'] : 0,
      'poll-shrink': typeof o.props['poll-shrink'] === 'number' ? o.props['poll-shrink'] : 0,
      'aio-max-batch': typeof o.props['aio-max-batch'] === 'number' ? o.props['aio-max-batch'] : 0,
    }));
}
