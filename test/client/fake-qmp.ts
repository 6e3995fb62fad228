// A scripted QMP peer over an in-memory duplex, for client tests: it sends a greeting (unless told
// not to), decodes each request line and lets the test answer it.
import type { Duplex } from 'node:stream';
import { duplexPair } from '../helpers/duplex-pair.js';

export interface Request {
  execute?: string;
  'exec-oob'?: string;
  arguments?: Record<string, unknown>;
  id?: unknown;
}

export const GREETING = {
  QMP: { version: { qemu: { micro: 22, minor: 2, major: 7 }, package: 'test' }, capabilities: ['oob'] },
};

export class FakeQmp {
  readonly client: Duplex;
  readonly server: Duplex;
  readonly requests: Request[] = [];
  /** The request lines as the client wrote them. */
  readonly lines: string[] = [];
  #buf = '';
  #waiters: Array<{ n: number; resolve: () => void }> = [];
  /** Answers each request; default: `qmp_capabilities` -> {}, anything else -> {"return": {}}. */
  onRequest: (req: Request, fake: FakeQmp) => void = (req, fake) => fake.reply(req, {});

  constructor(options: { greeting?: unknown | false } = {}) {
    const [a, b] = duplexPair();
    this.client = a;
    this.server = b;
    b.setEncoding('utf8');
    b.on('data', (d: string) => {
      this.#buf += d;
      for (let nl = this.#buf.indexOf('\n'); nl !== -1; nl = this.#buf.indexOf('\n')) {
        const line = this.#buf.slice(0, nl);
        this.#buf = this.#buf.slice(nl + 1);
        if (line.trim() === '') continue;
        this.lines.push(line);
        const req = JSON.parse(line) as Request;
        this.requests.push(req);
        this.onRequest(req, this);
        for (const w of [...this.#waiters]) {
          if (this.requests.length >= w.n) {
            this.#waiters.splice(this.#waiters.indexOf(w), 1);
            w.resolve();
          }
        }
      }
    });
    b.on('error', () => {});
    if (options.greeting !== false) this.send(options.greeting ?? GREETING);
  }

  send(msg: unknown): void {
    this.server.write(`${JSON.stringify(msg)}\r\n`);
  }

  sendRaw(text: string): void {
    this.server.write(text);
  }

  reply(req: Request, ret: unknown): void {
    this.send(req.id === undefined ? { return: ret } : { return: ret, id: req.id });
  }

  error(req: Request, cls: string, desc: string): void {
    this.send(req.id === undefined ? { error: { class: cls, desc } } : { id: req.id, error: { class: cls, desc } });
  }

  event(name: string, data?: unknown): void {
    const ev: Record<string, unknown> = { timestamp: { seconds: 1, microseconds: 2 }, event: name };
    if (data !== undefined) ev['data'] = data;
    this.send(ev);
  }

  /** Resolves once `n` requests in total have arrived. */
  waitRequests(n: number): Promise<void> {
    if (this.requests.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }

  /** The peer goes away abruptly. */
  drop(): void {
    this.server.destroy();
    this.client.destroy();
  }
}

/** Rejects if `p` does not settle within `ms`; resolves to how long it took. */
export async function within<T>(p: Promise<T>, ms: number): Promise<{ value?: T; error?: unknown; ms: number }> {
  const t0 = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_r, rej) => {
    timer = setTimeout(() => rej(new Error(`did not settle within ${ms} ms`)), ms);
  });
  try {
    const value = await Promise.race([p, limit]);
    return { value, ms: Date.now() - t0 };
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('did not settle')) throw error;
    return { error, ms: Date.now() - t0 };
  } finally {
    clearTimeout(timer);
  }
}
