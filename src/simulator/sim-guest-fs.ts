import { QmpCommandError } from '../errors/qmp-command-error.js';

/** qemu-ga's first file handle (QGA_PSTATE_DEFAULT_FD_COUNTER); handles count up from it. */
const FIRST_HANDLE = 1000;
/** qemu-ga's default `count` of `guest-file-read`. */
export const GUEST_READ_COUNT_DEFAULT = 4096;

interface OpenFile {
  readonly path: string;
  readonly readable: boolean;
  readonly writable: boolean;
  readonly append: boolean;
  position: number;
}

function notFound(handle: number): QmpCommandError {
  return new QmpCommandError('GenericError', `handle '${handle}' has not been found`);
}

/**
 * The simulated guest's files: an in-memory map from absolute path to bytes, and the agent's open
 * file handles with fopen()'s modes. Nothing touches the host's file system.
 */
export class SimGuestFs {
  readonly files = new Map<string, Buffer>();
  readonly #handles = new Map<number, OpenFile>();
  #nextHandle = FIRST_HANDLE;

  constructor(hostName: string) {
    this.files.set('/etc/hostname', Buffer.from(`${hostName}\n`));
    this.files.set(
      '/etc/os-release',
      Buffer.from(
        'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION="12 (bookworm)"\nID=debian\n',
      ),
    );
  }

  /** `guest-file-open`: fopen() modes r, r+, w, w+, a, a+ (a `b` is accepted and ignored). */
  open(path: string, mode = 'r'): number {
    const m = mode.replace('b', '');
    if (!['r', 'r+', 'w', 'w+', 'a', 'a+'].includes(m)) {
      throw new QmpCommandError('GenericError', `invalid file open mode '${mode}'`);
    }
    const exists = this.files.has(path);
    if (m.startsWith('r') && !exists) {
      throw new QmpCommandError(
        'GenericError',
        `failed to open file '${path}' (mode: '${mode}'): No such file or directory`,
      );
    }
    if (!path.startsWith('/') || path.endsWith('/')) {
      throw new QmpCommandError('GenericError', `failed to open file '${path}' (mode: '${mode}'): Is a directory`);
    }
    if (m.startsWith('w') || !exists) this.files.set(path, Buffer.alloc(0));
    const handle = this.#nextHandle++;
    this.#handles.set(handle, {
      path,
      readable: m === 'r' || m.endsWith('+'),
      writable: m !== 'r',
      append: m.startsWith('a'),
      position: 0,
    });
    return handle;
  }

  #get(handle: number): OpenFile {
    const f = this.#handles.get(handle);
    if (f === undefined) throw notFound(handle);
    return f;
  }

  #bytes(f: OpenFile): Buffer {
    return this.files.get(f.path) ?? Buffer.alloc(0);
  }

  /** `guest-file-read`: up to `count` bytes from the position. */
  read(handle: number, count = GUEST_READ_COUNT_DEFAULT): { count: number; 'buf-b64': string; eof: boolean } {
    const f = this.#get(handle);
    if (count < 0) throw new QmpCommandError('GenericError', `value '${count}' is invalid for argument count`);
    if (!f.readable) throw new QmpCommandError('GenericError', 'failed to read file: Bad file descriptor');
    const all = this.#bytes(f);
    const chunk = all.subarray(f.position, f.position + count);
    f.position += chunk.length;
    return { count: chunk.length, 'buf-b64': chunk.toString('base64'), eof: chunk.length < count };
  }

  /** `guest-file-write`: the first `count` bytes of `data` at the position (at the end for `a`). */
  write(handle: number, data: Buffer, count = data.length): { count: number; eof: boolean } {
    const f = this.#get(handle);
    if (count < 0 || count > data.length) {
      throw new QmpCommandError('GenericError', `value '${count}' is invalid for argument count`);
    }
    if (!f.writable) throw new QmpCommandError('GenericError', 'failed to write to file: Bad file descriptor');
    const all = this.#bytes(f);
    if (f.append) f.position = all.length;
    const end = f.position + count;
    const next = Buffer.alloc(Math.max(all.length, end));
    all.copy(next);
    data.copy(next, f.position, 0, count);
    this.files.set(f.path, next);
    f.position = end;
    return { count, eof: false };
  }

  /** `guest-file-seek`: `whence` 0/`set`, 1/`cur`, 2/`end`. */
  seek(handle: number, offset: number, whence: number | string): { position: number; eof: boolean } {
    const f = this.#get(handle);
    const w = typeof whence === 'string' ? ['set', 'cur', 'end'].indexOf(whence) : whence;
    if (w < 0 || w > 2) throw new QmpCommandError('GenericError', `Invalid parameter 'whence'`);
    const base = w === 0 ? 0 : w === 1 ? f.position : this.#bytes(f).length;
    const position = base + offset;
    if (position < 0) throw new QmpCommandError('GenericError', 'failed to seek file: Invalid argument');
    f.position = position;
    return { position, eof: position >= this.#bytes(f).length };
  }

  /** `guest-file-flush`: nothing is buffered; the handle must exist. */
  flush(handle: number): void {
    this.#get(handle);
  }

  /** `guest-file-close`. */
  close(handle: number): void {
    this.#get(handle);
    this.#handles.delete(handle);
  }
}
