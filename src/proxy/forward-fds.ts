import type { QmpRequestOptions, QmpSession } from '../client/index.js';
import { QmpFdPassingError } from '../errors/index.js';
import type { QmpCommandContext } from '../server/index.js';
import { closeFds } from '../transport/index.js';

/**
 * The commands that take a descriptor passed with SCM_RIGHTS (QEMU's `qemu_chr_fe_get_msgfd`). A
 * client's descriptors go up only with one of these, so that they are used at once and never wait
 * on the shared upstream connection for another client's command to take them.
 */
const TAKES_FD = new Set(['getfd', 'add-fd']);

/**
 * Sends a client's request up, with the descriptor the client passed when the command takes one.
 * When the upstream connection cannot carry descriptors (TCP, TLS, no native addon), the request
 * goes up without it and QEMU answers with its own error. The proxy's copy is closed once the
 * request is settled: QEMU holds its own by then.
 */
export function requestWithFd(
  up: QmpSession,
  ctx: QmpCommandContext,
  command: string,
  argsText: string | Uint8Array | undefined,
  options: QmpRequestOptions,
): Promise<string> {
  const fd = TAKES_FD.has(command) ? ctx.takeFd() : undefined;
  // Not an async function: the common request goes up without extra promise steps.
  if (fd === undefined) return up.requestEncoded(command, argsText, options);
  return requestPassingFd(up, command, argsText, options, fd);
}

async function requestPassingFd(
  up: QmpSession,
  command: string,
  argsText: string | Uint8Array | undefined,
  options: QmpRequestOptions,
  fd: number,
): Promise<string> {
  try {
    return await up.requestEncoded(command, argsText, { ...options, fds: [fd] });
  } catch (err) {
    if (!(err instanceof QmpFdPassingError)) throw err;
    return await up.requestEncoded(command, argsText, options);
  } finally {
    closeFds([fd]);
  }
}
