import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** What the native addon exports (see `native/fdpass/fdpass.c`). */
export interface QmpFdAddon {
  /**
   * One `sendmsg()` of `data` with `fds` as `SCM_RIGHTS` on socket `fd`, without blocking. Returns the
   * bytes written (the descriptors went with the first of them), or 0 when the socket would block and
   * nothing was sent.
   */
  sendWithFds(fd: number, data: Buffer, fds: readonly number[]): number;
  /**
   * One `recvmsg()` of at most `maxBytes` on socket `fd`, without blocking: the bytes and the
   * descriptors that came with them (close-on-exec), `null` when nothing is there yet, empty `data` at
   * end of stream.
   */
  recvWithFds(fd: number, maxBytes: number): { data: Buffer; fds: number[] } | null;
  /**
   * A reader of socket `fd` by `recvmsg()` (on its own duplicate of the descriptor), idle until
   * {@link readerStart}. Each time the socket is readable, `onRead` gets at most `maxBytes` and the
   * descriptors that came with them; empty `data` at end of stream; `data` null and an errno name on
   * a failed read. Absent from addons built by older versions of the package.
   */
  openReader?(fd: number, maxBytes: number, onRead: QmpFdReadCallback): QmpFdReader;
  /** Starts (or keeps) polling. */
  readerStart?(reader: QmpFdReader): void;
  /** Stops polling until the next {@link readerStart}. */
  readerStop?(reader: QmpFdReader): void;
  /** Stops for good and closes the reader's duplicate descriptor. */
  readerClose?(reader: QmpFdReader): void;
}

/** What a reader from {@link QmpFdAddon.openReader} passes on each read. */
export type QmpFdReadCallback = (data: Buffer | null, fds: number[], error?: string) => void;

/** An open reader (opaque). */
export interface QmpFdReader {
  readonly __qmpFdReader: never;
}

/** The addon, or why it cannot be had. */
export type QmpFdAddonStatus =
  | { readonly ok: true; readonly addon: QmpFdAddon }
  | { readonly ok: false; readonly reason: string };

/** Where `npm install` builds the addon, from this file's place in `dist/src/transport/`. */
const ADDON_URL = new URL('../../../native/fdpass/build/Release/qmpkit_fdpass.node', import.meta.url);

/**
 * Loads the fd-passing addon. It is optional: built by the package's install step when a compiler is
 * there, skipped without one. `QMPKIT_NO_NATIVE=1` makes it unavailable (to run as if it were not
 * built). Node caches the loaded module, so calling this again is cheap.
 */
export function loadFdAddon(env: NodeJS.ProcessEnv = process.env): QmpFdAddonStatus {
  if (env['QMPKIT_NO_NATIVE'] === '1')
    return { ok: false, reason: 'the native addon is disabled by QMPKIT_NO_NATIVE=1' };
  if (process.platform !== 'linux')
    return { ok: false, reason: `fd passing is implemented for Linux only, not ${process.platform}` };
  const path = fileURLToPath(ADDON_URL);
  if (!existsSync(path))
    return {
      ok: false,
      reason:
        'the native addon is not built (it needs python3, make and a C compiler at install time; see docs/fd-passing.md)',
    };
  try {
    const loaded = createRequire(import.meta.url)(path) as Partial<QmpFdAddon>;
    if (typeof loaded.sendWithFds !== 'function' || typeof loaded.recvWithFds !== 'function')
      return { ok: false, reason: 'the native addon does not export sendWithFds and recvWithFds' };
    return { ok: true, addon: loaded as QmpFdAddon };
  } catch (err) {
    return {
      ok: false,
      reason: `the native addon failed to load: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
}

/**
 * Whether this process can pass file descriptors over unix sockets (the native addon is built,
 * loads, and is not disabled by `QMPKIT_NO_NATIVE=1`), and if not, why.
 */
export function fdPassingSupport():
  | { readonly available: true }
  | { readonly available: false; readonly reason: string } {
  const status = loadFdAddon();
  return status.ok ? { available: true } : { available: false, reason: status.reason };
}
