// Shared pieces of the simulator and proxy benchmarks: start a real QEMU, and a minimal raw client.
import { type ChildProcess, spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';

export function startQemu(sock: string): ChildProcess {
  return spawn(
    'qemu-system-x86_64',
    ['-machine', 'none', '-nodefaults', '-display', 'none', '-qmp', `unix:${sock},server=on,wait=off`],
    {
      stdio: 'ignore',
    },
  );
}

export async function waitSocket(path: string): Promise<void> {
  const deadline = Date.now() + 20000;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const s = connect(path);
      s.once('connect', () => {
        s.destroy();
        r(true);
      });
      s.once('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${path} never accepted a connection`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Writes request lines, counts reply lines and events. The same client measures every server, and it
 * shares a thread with an in-process server (the simulator, the proxy), so it does as little as it
 * can: requests issued in the same turn (the lanes woken by one chunk of replies) go out in one
 * write, and replies are found by scanning the received text once, without slicing it line by line.
 */
export class RawBenchClient {
  readonly #s: Socket;
  #buf = '';
  #id = 0;
  readonly #waiting = new Map<number, () => void>();
  #out = '';
  readonly #flush = (): void => {
    const text = this.#out;
    this.#out = '';
    this.#s.write(text);
  };
  events = 0;
  onEvent: (() => void) | undefined;

  private constructor(s: Socket) {
    this.#s = s;
    s.setEncoding('utf8');
    s.on('data', (d: string) => this.#onData(d));
  }

  #onData(d: string): void {
    const buf = this.#buf === '' ? d : this.#buf + d;
    let start = 0;
    for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n', start)) {
      const id = replyId(buf, start, nl);
      if (id !== undefined) {
        const w = this.#waiting.get(id);
        this.#waiting.delete(id);
        w?.();
      } else {
        const ev = buf.indexOf('"event"', start);
        if (ev !== -1 && ev < nl) {
          this.events++;
          this.onEvent?.();
        }
      }
      start = nl + 1;
    }
    this.#buf = start === buf.length ? '' : buf.slice(start);
  }

  static async open(path: string): Promise<RawBenchClient> {
    const s = connect(path);
    await new Promise<void>((r) => s.once('connect', () => r()));
    const c = new RawBenchClient(s);
    await c.run('qmp_capabilities', '{"enable":["oob"]}');
    return c;
  }

  run(cmd: string, args?: string): Promise<void> {
    const id = ++this.#id;
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve);
      if (this.#out === '') queueMicrotask(this.#flush);
      this.#out += args ? `{"execute":"${cmd}","arguments":${args},"id":${id}}\n` : `{"execute":"${cmd}","id":${id}}\n`;
    });
  }

  close(): void {
    this.#s.destroy();
  }
}

/** The numeric id a reply line `buf[start, nl)` ends with (`"id": N}`), or undefined for anything else. */
function replyId(buf: string, start: number, nl: number): number | undefined {
  let end = nl;
  if (buf.charCodeAt(end - 1) === 13) end--;
  if (buf.charCodeAt(end - 1) !== 0x7d) return undefined;
  let i = end - 1;
  let id = 0;
  let scale = 1;
  while (i > start) {
    const c = buf.charCodeAt(i - 1);
    if (c < 0x30 || c > 0x39) break;
    id += (c - 0x30) * scale;
    scale *= 10;
    i--;
  }
  if (scale === 1 || !buf.startsWith('"id": ', i - 6) || i - 6 < start) return undefined;
  return id;
}

/** Runs `total` calls of `run` with `inFlight` at a time; returns ns per call. */
export async function throughput(run: () => Promise<unknown>, total: number, inFlight: number): Promise<number> {
  let started = 0;
  const t0 = process.hrtime.bigint();
  const lane = async (): Promise<void> => {
    while (started < total) {
      started++;
      await run();
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return Number(process.hrtime.bigint() - t0) / total;
}

export function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
}

export function p95(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.95))] ?? Number.NaN;
}
