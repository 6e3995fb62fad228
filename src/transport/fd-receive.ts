import { closeSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { QmpLimitError } from '../errors/qmp-error.js';
import { loadFdAddon, type QmpFdAddon, type QmpFdReader } from './fd-addon.js';
import { pipeHandle } from './fd-socket.js';

/** Descriptors that came with the stream's byte at offset `at` (counted from its first byte). */
export interface QmpFdArrival {
  readonly at: number;
  readonly fds: readonly number[];
}

/** The descriptors a connection received, in stream order, until a reader of the stream takes them. */
export interface QmpFdReceiver {
  /** The next arrival not yet taken, if any. */
  peek(): QmpFdArrival | undefined;
  /**
   * Takes the next arrival: its descriptors are the caller's to close from then on. They still count
   * against `maxReceivedFds` until the caller says it let `count` of them go ({@link released}).
   */
  take(): QmpFdArrival | undefined;
  /** `count` descriptors taken earlier were closed or handed on. */
  released(count: number): void;
}

/** A receiver, or why this connection cannot receive descriptors. */
export type QmpFdReceiverStatus =
  | { readonly ok: true; readonly receiver: QmpFdReceiver }
  | { readonly ok: false; readonly reason: string };

/** Bytes asked of the kernel per read, as Node's own stream reads do. */
const READ_BYTES = 64 * 1024;

/** Closes descriptors nobody will use; one already closed is no reason to stop. */
export function closeFds(fds: readonly number[]): void {
  for (const fd of fds) {
    try {
      closeSync(fd);
    } catch {
      // EBADF: closed already.
    }
  }
}

function errnoError(code: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`recvmsg failed: ${code}`);
  err.code = code;
  err.syscall = 'recvmsg';
  return err;
}

/**
 * Makes a unix socket that has not started reading (a server's connection accepted with
 * `pauseOnConnect`) read with `recvmsg()` through the native addon, so that descriptors sent with
 * SCM_RIGHTS are kept. The socket is read and written as before (`data`, `end`, backpressure); the
 * receiver says at which offset each set of descriptors came. Descriptors not taken are closed when
 * the socket closes. More than `maxReceivedFds` held at once (not yet taken, or taken and not yet
 * released) disconnects the client.
 */
export function receiveFds(
  socket: Duplex,
  options: { maxReceivedFds: number; env?: NodeJS.ProcessEnv },
): QmpFdReceiverStatus {
  if (!(socket instanceof Socket) || (socket as { encrypted?: unknown }).encrypted === true)
    return { ok: false, reason: 'the connection is not a unix socket' };
  const handle = pipeHandle(socket);
  if (handle === undefined || handle.fd === undefined || handle.fd < 0)
    return { ok: false, reason: 'the connection is not a unix socket' };
  if (handle.reading === true || socket.readableFlowing === true)
    return { ok: false, reason: 'the connection is already being read' };
  const loaded = loadFdAddon(options.env);
  if (!loaded.ok) return loaded;
  const addon = loaded.addon as Required<QmpFdAddon>;
  if (typeof addon.openReader !== 'function')
    return { ok: false, reason: 'the native addon predates receiving descriptors: rebuild it (npm rebuild qmpkit)' };

  const max = options.maxReceivedFds;
  const arrivals: QmpFdArrival[] = [];
  let held = 0;
  let offset = 0;
  let closed = false;
  const reader: QmpFdReader = addon.openReader(handle.fd, READ_BYTES, (data, fds, error) => {
    if (closed || socket.destroyed) {
      closeFds(fds);
      return;
    }
    if (data === null) {
      socket.destroy(errnoError(error ?? 'EIO'));
      return;
    }
    if (data.length === 0) {
      closeFds(fds);
      socket.push(null);
      return;
    }
    if (fds.length > 0) {
      if (held + fds.length > max) {
        closeFds(fds);
        socket.destroy(
          new QmpLimitError(
            `The client sent ${held + fds.length} file descriptors not yet used by a command, more than maxReceivedFds (${max}); disconnected`,
            'maxReceivedFds',
            max,
          ),
        );
        return;
      }
      arrivals.push({ at: offset, fds });
      held += fds.length;
    }
    offset += data.length;
    if (!socket.push(data)) addon.readerStop(reader);
  });
  // Node reads a socket from its _read; this one's reads go through the addon instead. Node never
  // started reading it (paused on connect), so no byte can be read twice or lost.
  socket._read = () => {
    if (!closed) addon.readerStart(reader);
  };
  socket.once('close', () => {
    closed = true;
    addon.readerClose(reader);
    for (const a of arrivals.splice(0)) closeFds(a.fds);
    held = 0;
  });
  return {
    ok: true,
    receiver: {
      peek: () => arrivals[0],
      take: () => arrivals.shift(),
      released: (count) => {
        held = Math.max(0, held - count);
      },
    },
  };
}
