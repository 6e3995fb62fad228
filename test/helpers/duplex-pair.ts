import { Duplex } from 'node:stream';

/** Two connected in-memory duplex streams (like a socketpair), with backpressure and half-close. */
export function duplexPair(): [Duplex, Duplex] {
  const sides: Duplex[] = [];
  const waiting: Array<(() => void) | undefined> = [undefined, undefined];
  const make = (me: 0 | 1): Duplex =>
    new Duplex({
      allowHalfOpen: true,
      read() {
        const w = waiting[me];
        waiting[me] = undefined;
        w?.();
      },
      write(chunk: Buffer, _enc, cb) {
        const peer = sides[1 - me];
        if (!peer || peer.destroyed) return cb();
        if (peer.push(chunk)) cb();
        else waiting[1 - me] = () => cb();
      },
      final(cb) {
        const peer = sides[1 - me];
        if (peer && !peer.destroyed) peer.push(null);
        cb();
      },
      destroy(err, cb) {
        const peer = sides[1 - me];
        if (peer && !peer.destroyed) peer.destroy();
        cb(err);
      },
    });
  sides.push(make(0), make(1));
  return [sides[0]!, sides[1]!];
}
