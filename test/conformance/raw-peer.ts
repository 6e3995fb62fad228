// A raw QMP peer for the differential suite: writes bytes exactly as given and collects the lines
// each request produces, delimited by a sync request sent right after it.
import { connect, type Socket } from 'node:net';

export class RawPeer {
  readonly #sock: Socket;
  #buf = '';
  #lines: string[] = [];
  #wake: (() => void) | undefined;
  #closed = false;
  #sync = 0;

  private constructor(sock: Socket) {
    this.#sock = sock;
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      this.#buf += d;
      for (let nl = this.#buf.indexOf('\n'); nl !== -1; nl = this.#buf.indexOf('\n')) {
        this.#lines.push(this.#buf.slice(0, nl + 1));
        this.#buf = this.#buf.slice(nl + 1);
      }
      this.#wake?.();
    });
    sock.on('close', () => {
      this.#closed = true;
      this.#wake?.();
    });
    sock.on('error', () => {});
  }

  static async open(path: string): Promise<RawPeer> {
    const s = connect(path);
    await new Promise<void>((resolve, reject) => {
      s.once('connect', resolve);
      s.once('error', reject);
    });
    return new RawPeer(s);
  }

  async #until(pred: () => boolean, ms: number, what: string): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred()) {
      if (this.#closed) return;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  /** Reads the greeting line. */
  async greeting(): Promise<string> {
    await this.#until(() => this.#lines.length > 0, 10000, 'the greeting');
    return this.#lines.shift() ?? '';
  }

  /**
   * Sends `bytes`, then a sync request, and returns every line that came before the sync reply.
   * With `expectClose` it returns what came before the connection closed (after `quit`).
   */
  async exchange(bytes: string | Buffer, expectClose = false): Promise<string[]> {
    this.#sock.write(bytes);
    if (expectClose) {
      await this.#until(() => this.#closed, 10000, 'the close');
      const out = this.#lines;
      this.#lines = [];
      return out;
    }
    const tag = `sync-${++this.#sync}`;
    this.#sock.write(`\n{"execute":"query-name","id":"${tag}"}\n`);
    const isSync = (l: string): boolean => l.includes(`"id": "${tag}"`);
    // With pretty=on the sync reply spans lines: it runs from the last "{" line before its id to the
    // next "}" line.
    const end = (): number => {
      const i = this.#lines.findIndex(isSync);
      if (i === -1) return -1;
      if (this.#lines[i]?.startsWith('{')) return i;
      const j = this.#lines.findIndex((l, k) => k >= i && l === '}\r\n');
      return j;
    };
    await this.#until(() => end() !== -1, 15000, `the reply to ${String(bytes).slice(0, 80)}`);
    const i = this.#lines.findIndex(isSync);
    const last = end();
    let first = i;
    if (!this.#lines[i]?.startsWith('{')) while (first > 0 && this.#lines[first] !== '{\r\n') first--;
    const out = this.#lines.slice(0, first);
    this.#lines = this.#lines.slice(last + 1);
    return out;
  }

  /** Stops reading (a client that does not read its output). */
  pause(): void {
    this.#sock.pause();
  }

  close(): void {
    this.#sock.destroy();
  }
}

/**
 * A whole raw session on `path`: the greeting, negotiation with OOB, then each request (as `> line`)
 * followed by the lines it produced, with event timestamps blanked so two runs compare.
 */
export async function recordSession(path: string, requests: readonly string[]): Promise<string[]> {
  const peer = await RawPeer.open(path);
  try {
    const out = [await peer.greeting()];
    out.push(...(await peer.exchange('{"execute":"qmp_capabilities","arguments":{"enable":["oob"]}}\n')));
    for (const r of requests) out.push(`> ${r}`, ...(await peer.exchange(`${r}\n`)));
    return out.map((l) => l.replace(/"seconds": \d+, "microseconds": \d+/g, '"seconds": S, "microseconds": U'));
  } finally {
    peer.close();
  }
}
