import { fstatSync, readFileSync } from 'node:fs';
import { QmpCommandError } from '../errors/qmp-command-error.js';
import { closeFds } from '../transport/index.js';

/** One descriptor of an fd set (`add-fd`). */
interface SimFdsetFd {
  readonly fd: number;
  readonly opaque: string | undefined;
  removed: boolean;
}

/** An fd set: its descriptors, and how many block nodes opened `/dev/fdset/ID` (QEMU's dup_fds). */
interface SimFdset {
  readonly id: number;
  readonly fds: SimFdsetFd[];
  users: number;
}

/** A file opened through an fd set, for a block node. */
export interface SimFdsetFile {
  readonly fdsetId: number;
  readonly size: number;
  readonly allocated: number;
}

const FDSET_PREFIX = '/dev/fdset/';

/** `O_ACCMODE` of one of this process's descriptors, read from /proc (Linux). */
function accessMode(fd: number): number {
  try {
    const m = /^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
    return m?.[1] === undefined ? -1 : Number.parseInt(m[1], 8) & 3;
  } catch {
    return -1;
  }
}

/**
 * The descriptors the simulated QEMU holds, as QEMU 7.2's monitor keeps them: named descriptors per
 * monitor (`getfd`/`closefd`) and the global fd sets (`add-fd`, `remove-fd`, `query-fdsets`) that
 * `/dev/fdset/ID` opens. A descriptor is closed when QEMU would close it: a replaced name, `closefd`,
 * a removed one while the VM runs, unused ones once no client is connected (while it runs).
 */
export class SimFds {
  readonly #named = new Map<object, Map<string, number>>();
  /** Sorted by id, as QEMU keeps them. */
  readonly #sets: SimFdset[] = [];
  readonly #running: () => boolean;

  constructor(running: () => boolean) {
    this.#running = running;
  }

  /** `getfd`: names `fd` on `monitor`, closing a descriptor of the same name. */
  getfd(monitor: object, fd: number, name: string): void {
    if (/^[0-9]/.test(name)) {
      closeFds([fd]);
      throw new QmpCommandError('GenericError', "Parameter 'fdname' expects a name not starting with a digit");
    }
    let names = this.#named.get(monitor);
    if (names === undefined) this.#named.set(monitor, (names = new Map()));
    const old = names.get(name);
    names.set(name, fd);
    if (old !== undefined) closeFds([old]);
  }

  /** `closefd`. */
  closefd(monitor: object, name: string): void {
    const names = this.#named.get(monitor);
    const fd = names?.get(name);
    if (names === undefined || fd === undefined)
      throw new QmpCommandError('GenericError', `File descriptor named '${name}' not found`);
    names.delete(name);
    closeFds([fd]);
  }

  /** `add-fd`: into set `fdsetId`, or the lowest free id. */
  addFd(fd: number, fdsetId: number | undefined, opaque: string | undefined): { 'fdset-id': number; fd: number } {
    let set = fdsetId === undefined ? undefined : this.#sets.find((s) => s.id === fdsetId);
    if (set === undefined) {
      if (fdsetId !== undefined && fdsetId < 0) {
        closeFds([fd]);
        throw new QmpCommandError('GenericError', "Parameter 'fdset-id' expects a non-negative value");
      }
      let id = fdsetId;
      if (id === undefined) {
        // QEMU's rule: after the run of ids 0, 1, 2, ... at the start of the list.
        id = 0;
        for (const s of this.#sets) {
          if (s.id !== id) break;
          id++;
        }
      }
      set = { id, fds: [], users: 0 };
      const at = this.#sets.findIndex((s) => s.id > (id as number));
      this.#sets.splice(at === -1 ? this.#sets.length : at, 0, set);
    }
    set.fds.push({ fd, opaque, removed: false });
    return { 'fdset-id': set.id, fd };
  }

  /** `remove-fd`: one descriptor of a set, or all of them. */
  removeFd(fdsetId: number, fd: number | undefined): void {
    const set = this.#sets.find((s) => s.id === fdsetId);
    const which = fd === undefined ? `fdset-id:${fdsetId}` : `fdset-id:${fdsetId}, fd:${fd}`;
    if (set === undefined) throw new QmpCommandError('GenericError', `File descriptor named '${which}' not found`);
    const chosen = fd === undefined ? set.fds : set.fds.filter((f) => f.fd === fd).slice(0, 1);
    if (fd !== undefined && chosen.length === 0)
      throw new QmpCommandError('GenericError', `File descriptor named '${which}' not found`);
    for (const f of chosen) f.removed = true;
    this.#cleanup(set, false);
  }

  /** `query-fdsets`: highest id first, descriptors in the order added. */
  query(): unknown[] {
    return [...this.#sets].reverse().map((s) => ({
      fds: s.fds.map((f) => (f.opaque === undefined ? { fd: f.fd } : { fd: f.fd, opaque: f.opaque })),
      'fdset-id': s.id,
    }));
  }

  /** Whether a block node's filename names an fd set. */
  static isFdsetPath(filename: string): boolean {
    return filename.startsWith(FDSET_PREFIX);
  }

  /**
   * Opens `/dev/fdset/ID` for a block node, as QEMU's `qemu_open`: a descriptor of the set with the
   * access mode asked for (read-only or read-write), else QEMU's error.
   */
  open(filename: string, readonly: boolean): SimFdsetFile {
    const text = filename.slice(FDSET_PREFIX.length);
    if (!/^[+-]?[0-9]+$/.test(text)) throw new QmpCommandError('GenericError', `Could not parse fdset ${filename}`);
    const id = Number(text);
    const flags = readonly ? 0 : 2;
    const set = this.#sets.find((s) => s.id === id);
    const found = set?.fds.find((f) => accessMode(f.fd) === flags);
    if (set === undefined || found === undefined) {
      const why = set === undefined ? 'No such file or directory' : 'Permission denied';
      throw new QmpCommandError('GenericError', `Could not dup FD for ${filename} flags ${flags}: ${why}`);
    }
    const st = fstatSync(found.fd);
    set.users++;
    return { fdsetId: id, size: st.size, allocated: st.blocks * 512 };
  }

  /** A block node that opened `/dev/fdset/ID` is gone. */
  release(fdsetId: number): void {
    const set = this.#sets.find((s) => s.id === fdsetId);
    if (set === undefined || set.users === 0) return;
    set.users--;
    if (set.users === 0) this.#cleanup(set, false);
  }

  /** A client disconnected; `remaining` clients are still connected. */
  clientClosed(remaining: number): void {
    for (const set of [...this.#sets]) this.#cleanup(set, remaining === 0);
  }

  /** The simulated QEMU exits: every descriptor it holds is closed. */
  close(): void {
    for (const names of this.#named.values()) closeFds([...names.values()]);
    this.#named.clear();
    for (const set of this.#sets.splice(0)) closeFds(set.fds.map((f) => f.fd));
  }

  /** QEMU's `monitor_fdset_cleanup`: closes removed (or, with no client, unused) descriptors while running. */
  #cleanup(set: SimFdset, noClients: boolean): void {
    if (this.#running()) {
      for (let i = set.fds.length - 1; i >= 0; i--) {
        const f = set.fds[i] as SimFdsetFd;
        if (f.removed || (set.users === 0 && noClients)) {
          closeFds([f.fd]);
          set.fds.splice(i, 1);
        }
      }
    }
    if (set.fds.length === 0 && set.users === 0) this.#sets.splice(this.#sets.indexOf(set), 1);
  }
}
