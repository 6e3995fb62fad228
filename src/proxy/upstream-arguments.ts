import { encodeQValue, encodeQValueBytes, type QValue } from '../wire/index.js';

/** Arguments at least this long (as text) go upstream as bytes: no copy of the request as a line. */
export const FORWARD_AS_BYTES = 64 * 1024;

/**
 * The arguments of a forwarded command as they go to QEMU: as the client's parser read them (member
 * order, integer vs double kept), and none at all when there were none, since QEMU reads a byte per
 * system call and every byte costs. The text is cheap (joined strings share the argument strings)
 * until it is read whole: a large one goes up as bytes, written beside the envelope, so it costs its
 * size once more instead of twice.
 */
export function upstreamArguments(args: Map<string, QValue>): string | Buffer | undefined {
  if (args.size === 0) return undefined;
  const text = encodeQValue(args);
  return text.length >= FORWARD_AS_BYTES ? encodeQValueBytes(args) : text;
}
