import { closeSync, constants, openSync } from 'node:fs';
import { QmpUsageError } from '../errors/qmp-error.js';
import type { LaunchFd } from '../launcher/index.js';

/** One `--add-fd PATH[,set=N][,opaque=TEXT][,readonly=on]` of `qmpkit launch`. */
export interface AddFdOption {
  readonly path: string;
  readonly set: number | undefined;
  readonly opaque: string | undefined;
  readonly readonly: boolean;
}

/** Splits on single commas; a doubled comma is a comma in the value, as in QEMU's options. */
function splitOptions(text: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === ',' && text[i + 1] === ',') {
      cur += ',';
      i++;
    } else if (ch === ',') {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts;
}

/** Parses one `--add-fd` value; throws `QMP_ERR_USAGE` naming what is wrong. */
export function parseAddFd(text: string): AddFdOption {
  const [path, ...rest] = splitOptions(text);
  if (path === undefined || path === '') throw new QmpUsageError(`--add-fd ${text}: missing the file path`);
  let set: number | undefined;
  let opaque: string | undefined;
  let readonly = false;
  for (const kv of rest) {
    const eq = kv.indexOf('=');
    const key = eq < 0 ? kv : kv.slice(0, eq);
    const value = eq < 0 ? '' : kv.slice(eq + 1);
    if (key === 'set' && /^\d+$/.test(value)) set = Number(value);
    else if (key === 'opaque') opaque = value;
    else if (key === 'readonly' && (value === 'on' || value === 'off')) readonly = value === 'on';
    else
      throw new QmpUsageError(`--add-fd ${text}: unknown or bad option '${kv}' (set=N, opaque=TEXT, readonly=on|off)`);
  }
  return { path, set, opaque, readonly };
}

/**
 * Opens the files of `--add-fd` options (read-write unless `readonly=on`: QEMU picks the descriptor
 * of a set whose access mode matches how it opens `/dev/fdset/N`). On failure the ones opened so far
 * are closed. The caller closes the rest once QEMU has inherited them.
 */
export function openAddFds(options: readonly AddFdOption[]): LaunchFd[] {
  const opened: LaunchFd[] = [];
  try {
    for (const o of options) {
      let fd: number;
      try {
        fd = openSync(o.path, o.readonly ? constants.O_RDONLY : constants.O_RDWR);
      } catch (err) {
        throw new QmpUsageError(`--add-fd ${o.path}: ${err instanceof Error ? err.message : String(err)}`, {
          cause: err,
        });
      }
      opened.push({
        fd,
        ...(o.set === undefined ? {} : { set: o.set }),
        ...(o.opaque === undefined ? {} : { opaque: o.opaque }),
      });
    }
  } catch (err) {
    for (const f of opened) closeSync(f.fd);
    throw err;
  }
  return opened;
}
