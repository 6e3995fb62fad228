// Test helpers for the server framework: an in-memory duplex pair with real backpressure, a raw
// client that collects CRLF lines with deadlines, and waiting utilities (no sleeping).
import { once } from 'node:events';
import { Duplex } from 'node:stream';

/** Rejects after `ms` with a message naming what was awaited. */
export function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

/**
 * Two connected in-memory duplexes. A write on one side is pushed to the other's readable side;
 * the write callback waits while the reader's buffer is full, so a side that never reads makes the
 * writer's `writableLength` grow, as with a socket. Ending one side ends the other's readable side.
 */
export function duplexPair(highWaterMark = 16 * 1024): [Duplex, Duplex] {
  const pending: Array<Array<() => void>> = [[], []];
  const sides: Duplex[] = [];
  const make = (me: 0 | 1): Duplex =>
    new Duplex({
      allowHalfOpen: true,
      highWaterMark,
      read() {
        const waiters = pending[me] ?? [];
        pending[me] = [];
        for (const w of waiters) w();
      },
      write(chunk: Buffer, _enc, cb) {
        const peer = sides[1 - me];
        if (peer === undefined || peer.destroyed) {
          cb();
          return;
        }
        if (peer.push(chunk)) cb();
        else (pending[1 - me] ?? []).push(() => cb());
      },
      final(cb) {
        const peer = sides[1 - me];
        if (peer !== undefined && !peer.destroyed) peer.push(null);
        cb();
      },
      destroy(err, cb) {
        const peer = sides[1 - me];
        // A destroyed socket looks like EOF then close to the other side.
        if (peer !== undefined && !peer.destroyed) {
          peer.push(null);
          queueMicrotask(() => peer.destroy());
        }
        for (const w of pending[1 - me] ?? []) w();
        cb(err);
      },
    });
  sides.push(make(0), make(1));
  return [sides[0] as Duplex, sides[1] as Duplex];
}

/** A raw client side: collects bytes, splits CRLF lines, waits for them with deadlines. */
export class RawClient {
  readonly stream: Duplex;
  #buf = Buffer.alloc(0);
  #lines: string[] = [];
  #taken = 0;
  #waiters: Array<() => void> = [];
  ended = false;
  closed = false;

  constructor(stream: Duplex) {
    this.stream = stream;
    stream.on('data', (chunk: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, chunk]);
      for (let i = this.#buf.indexOf('\r\n'); i !== -1; i = this.#buf.indexOf('\r\n')) {
        this.#lines.push(this.#buf.subarray(0, i).toString('latin1'));
        this.#buf = this.#buf.subarray(i + 2);
      }
      this.#notify();
    });
    stream.on('end', () => {
      this.ended = true;
      this.#notify();
    });
    stream.on('close', () => {
      this.closed = true;
      this.#notify();
    });
    stream.on('error', () => {});
  }

  #notify(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Every complete line received so far (without CRLF). */
  get lines(): readonly string[] {
    return this.#lines;
  }

  /** Bytes received after the last CRLF. */
  get partial(): string {
    return this.#buf.toString('latin1');
  }

  send(text: string | Buffer): void {
    this.stream.write(text);
  }

  /** Waits until `pred()` holds, re-checking on every received chunk. */
  async until(pred: () => boolean, what: string, ms = 5000): Promise<void> {
    const wait = (async () => {
      while (!pred()) {
        if (this.closed && !pred())
          throw new Error(
            `connection closed while waiting for ${what}; lines: ${JSON.stringify(this.#lines.slice(-5))}`,
          );
        await new Promise<void>((r) => this.#waiters.push(r));
      }
    })();
    await withDeadline(
      wait,
      ms,
      `${what} (have ${this.#lines.length} lines: ${JSON.stringify(this.#lines.slice(-3))})`,
    );
  }

  /** Waits for `n` lines in total. */
  async waitLines(n: number, ms = 5000): Promise<readonly string[]> {
    await this.until(() => this.#lines.length >= n, `${n} lines`, ms);
    return this.#lines;
  }

  /** The next line not yet taken. */
  async next(ms = 5000): Promise<string> {
    const want = this.#taken + 1;
    await this.waitLines(want, ms);
    this.#taken = want;
    return this.#lines[want - 1] as string;
  }

  /** The next line, parsed as JSON. */
  async nextJson(ms = 5000): Promise<unknown> {
    return JSON.parse(await this.next(ms));
  }

  /** Sends a line and returns the next line received. */
  async ask(line: string, ms = 5000): Promise<string> {
    this.send(`${line}\n`);
    return this.next(ms);
  }

  /** Waits for the end of the connection (EOF or close). */
  async waitEnd(ms = 5000): Promise<void> {
    await this.until(() => this.ended || this.closed, 'end of connection', ms);
  }
}

/** Resolves on the next `event` of `emitter`, with a deadline. */
export function nextEvent(emitter: NodeJS.EventEmitter, event: string, ms = 5000): Promise<unknown[]> {
  return withDeadline(once(emitter, event), ms, `event '${event}'`);
}

/** The greeting QEMU 7.2.22 (Debian) sends, without CRLF. */
export const GREETING_7_2 =
  '{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7+deb12u18+b3"}, "capabilities": ["oob"]}}';

/** Version info of the recorded QEMU. */
export const VERSION_7_2 = { qemu: { major: 7, minor: 2, micro: 22 }, package: 'Debian 1:7.2+dfsg-7+deb12u18+b3' };

/** A deterministic PRNG (mulberry32) for seeded fuzzing. */
export { prng } from '../helpers/prng.js';
