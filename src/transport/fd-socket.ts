import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { loadFdAddon, type QmpFdAddon } from './fd-addon.js';

/** Sends bytes with descriptors attached on one connection. */
export interface QmpFdChannel {
  /**
   * Writes `data` with `fds` attached to its first byte, after every byte already written to the
   * stream has reached the kernel: nothing queued before is overtaken, nothing is interleaved. The
   * caller must not write to the stream until the promise settles. Rejects with the system error
   * (`EPIPE`, `EBADF`, ...) when `sendmsg` fails.
   */
  send(data: Buffer, fds: readonly number[]): Promise<void>;
}

/** A channel, or why this connection cannot pass descriptors. */
export type QmpFdChannelStatus =
  | { readonly ok: true; readonly channel: QmpFdChannel }
  | { readonly ok: false; readonly reason: string };

/** Backoff while the socket's send buffer is full (`EAGAIN`): from 1 ms, doubling, at most this. */
const RETRY_MAX_DELAY_MS = 50;

interface PipeHandle {
  readonly fd?: number;
  /** Node is reading the socket itself. */
  readonly reading?: boolean;
}

/** The connection's libuv handle when it is a unix socket (a `Pipe`), else undefined. */
export function pipeHandle(socket: Socket): PipeHandle | undefined {
  const handle = (socket as unknown as { _handle?: (PipeHandle & { constructor?: { name?: string } }) | null })._handle;
  if (handle == null || handle.constructor?.name !== 'Pipe') return undefined;
  return handle;
}

/**
 * Whether `stream` can carry descriptors: a plain `net.Socket` on a unix socket, and the native addon
 * loaded. Anything else (TCP, TLS, a `Duplex` of one's own, standard I/O) says why not.
 */
export function fdChannelFor(stream: Duplex, env: NodeJS.ProcessEnv = process.env): QmpFdChannelStatus {
  // A TLSSocket says so by `encrypted`; testing it that way keeps node:tls (and crypto) unloaded.
  if ((stream as { encrypted?: unknown }).encrypted === true)
    return { ok: false, reason: 'the connection is TLS, not a unix socket' };
  if (!(stream instanceof Socket)) return { ok: false, reason: 'the connection is a stream, not a unix socket' };
  if (pipeHandle(stream) === undefined)
    return {
      ok: false,
      reason: stream.destroyed ? 'the connection is closed' : 'the connection is TCP, not a unix socket',
    };
  const loaded = loadFdAddon(env);
  if (!loaded.ok) return loaded;
  const addon = loaded.addon;
  return { ok: true, channel: { send: (data, fds) => sendWithFds(stream, addon, data, fds) } };
}

/** Resolves once every byte written to `socket` so far has been handed to the kernel. */
async function drained(socket: Socket): Promise<void> {
  while (socket.writableLength > 0) {
    // An empty write's callback runs after every earlier write completed: writes complete in order.
    await new Promise<void>((resolve, reject) =>
      socket.write(Buffer.alloc(0), (err) => (err ? reject(err) : resolve())),
    );
  }
}

function closedError(): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error('sendmsg failed: the socket is closed');
  err.code = 'EPIPE';
  err.syscall = 'sendmsg';
  return err;
}

async function sendWithFds(socket: Socket, addon: QmpFdAddon, data: Buffer, fds: readonly number[]): Promise<void> {
  await drained(socket);
  let delay = 1;
  for (;;) {
    const fd = pipeHandle(socket)?.fd;
    if (socket.destroyed || fd === undefined || fd < 0) throw closedError();
    const n = addon.sendWithFds(fd, data, fds);
    if (n === data.length) return;
    if (n > 0) {
      // The descriptors left with the first bytes; the rest are plain bytes and Node writes them
      // before anything written after this call.
      socket.write(data.subarray(n));
      return;
    }
    // The send buffer is full and nothing left: QEMU is not reading. Wait without blocking the loop.
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, RETRY_MAX_DELAY_MS);
  }
}
