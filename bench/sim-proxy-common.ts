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

/** Writes request lines, counts reply lines and events. The same client measures every server. */
export class RawBenchClient {
  readonly #s: Socket;
  #buf = '';
  #id = 0;
  readonly #waiting = new Map<number, () => void>();
  events = 0;
  onEvent: (() => void) | undefined;

  private constructor(s: Socket) {
    this.#s = s;
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      this.#buf += d;
      let nl = this.#buf.indexOf('\n');
      while (nl !== -1) {
        const line = this.#buf.slice(0, nl);
        this.#buf = this.#buf.slice(nl + 1);
        const m = /"id": (\d+)\}/.exec(line);
        if (m) {
          const id = Number(m[1]);
          const w = this.#waiting.get(id);
          this.#waiting.delete(id);
          w?.();
        } else if (line.includes('"event"')) {
          this.events++;
          this.onEvent?.();
        }
        nl = this.#buf.indexOf('\n');
      }
    });
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
      this.#s.write(
        args ? `{"execute":"${cmd}","arguments":${args},"id":${id}}\n` : `{"execute":"${cmd}","id":${id}}\n`,
      );
    });
  }

  close(): void {
    this.#s.destroy();
  }
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
