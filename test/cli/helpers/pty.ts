// Runs a command in a pseudo-terminal for shell tests, without native modules: a small python3 relay
// (python3 is on every CI machine) opens the pty, starts the command on its slave side as a session
// leader with a controlling terminal, and copies bytes between the pty master and its own pipes.
import { type ChildProcess, spawn } from 'node:child_process';

const RELAY = `
import os, sys, pty, select, struct, fcntl, termios
cols, rows = int(sys.argv[1]), int(sys.argv[2])
argv = sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    # Size the terminal before the command starts, so it never sees a 0x0 window.
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
    os.execvp(argv[0], argv)
stdin_open = True
while True:
    fds = [fd] + ([0] if stdin_open else [])
    r, _, _ = select.select(fds, [], [])
    if 0 in r:
        data = os.read(0, 65536)
        if not data:
            stdin_open = False
        else:
            os.write(fd, data)
    if fd in r:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b''
        if not data:
            break
        os.write(1, data)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
`;

/** Strips ANSI escape sequences and carriage returns, so tests can match what a person would read. */
export function plain(text: string): string {
  // CSI sequences, OSC sequences, and lone ESC x.
  return text
    .replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, '')
    .replace(/\x1b\][^\x07]*\x07/g, '')
    .replace(/\x1b[@-Z\\-_]/g, '')
    .replace(/\r/g, '');
}

/**
 * Replays terminal output on a virtual screen and returns its lines (trailing spaces trimmed, empty
 * trailing lines dropped): what a person would see. Handles the sequences Node's readline uses:
 * CR, LF, BS, and CSI G (column), A/B/C/D (moves), H (position), J (clear down), K (clear line).
 */
export function screen(raw: string, cols = 200): string[] {
  const rows: string[][] = [[]];
  let r = 0;
  let c = 0;
  const row = (i: number): string[] => {
    while (rows.length <= i) rows.push([]);
    return rows[i] as string[];
  };
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i] ?? '';
    if (ch === '\x1b' && raw[i + 1] === '[') {
      const m = /^\x1b\[([0-9;?]*)([@-~])/.exec(raw.slice(i));
      if (m === null) continue;
      i += m[0].length - 1;
      const nums = (m[1] ?? '').split(';').map((x) => (x === '' ? undefined : Number(x)));
      const n = nums[0] ?? 1;
      switch (m[2]) {
        case 'G':
          c = n - 1;
          break;
        case 'A':
          r = Math.max(0, r - n);
          break;
        case 'B':
          r += n;
          break;
        case 'C':
          c += n;
          break;
        case 'D':
          c = Math.max(0, c - n);
          break;
        case 'H':
          r = (nums[0] ?? 1) - 1;
          c = (nums[1] ?? 1) - 1;
          break;
        case 'J':
          if ((nums[0] ?? 0) === 0) {
            row(r).length = Math.min(row(r).length, c);
            rows.length = Math.min(rows.length, r + 1);
          }
          break;
        case 'K':
          if ((nums[0] ?? 0) === 0) row(r).length = Math.min(row(r).length, c);
          break;
      }
      continue;
    }
    if (ch === '\x1b') continue;
    if (ch === '\r') c = 0;
    else if (ch === '\n') r++;
    else if (ch === '\b') c = Math.max(0, c - 1);
    else if (ch >= ' ') {
      if (c >= cols) {
        r++;
        c = 0;
      }
      const line = row(r);
      while (line.length < c) line.push(' ');
      line[c] = ch;
      c++;
    }
  }
  const out = rows.map((l) => l.join('').trimEnd());
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out;
}

export interface PtyOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  cols?: number;
  rows?: number;
}

/** A command running in a pseudo-terminal. */
export class PtySession {
  readonly #proc: ChildProcess;
  readonly #cols: number;
  #out = '';
  #waiters: Array<() => void> = [];
  /** Resolves with the command's exit code when it ends. */
  readonly exited: Promise<number>;

  constructor(argv: readonly string[], options: PtyOptions = {}) {
    this.#cols = options.cols ?? 200;
    this.#proc = spawn('python3', ['-c', RELAY, String(options.cols ?? 200), String(options.rows ?? 50), ...argv], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { TERM: 'xterm', ...(options.env ?? process.env) },
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    });
    this.#proc.stdout?.setEncoding('utf8');
    this.#proc.stdout?.on('data', (d: string) => {
      this.#out += d;
      for (const w of this.#waiters) w();
    });
    this.exited = new Promise((resolve) => {
      this.#proc.once('close', (code, signal) => {
        for (const w of this.#waiters) w();
        resolve(code ?? (signal === null ? -1 : 128));
      });
    });
  }

  /** Everything the terminal showed so far, raw. */
  get raw(): string {
    return this.#out;
  }

  /** Everything the terminal showed so far, without escape sequences. */
  get text(): string {
    return plain(this.#out);
  }

  /** The virtual screen's lines (see `screen`). */
  screen(): string[] {
    return screen(this.#out, this.#cols);
  }

  /** Length of the output so far: pass it to `waitFor` to match only what comes after. */
  mark(): number {
    return this.#out.length;
  }

  /** Types into the terminal (use `\r` for Enter, `\t` for Tab, `\x03` for Ctrl-C, `\x04` for Ctrl-D). */
  write(keys: string): void {
    this.#proc.stdin?.write(keys);
  }

  /**
   * Resolves when the plain text written since `from` matches `pattern`; rejects after `timeoutMs`
   * (or when the command exits first) with what was seen, so failures explain themselves.
   */
  waitFor(pattern: RegExp | string, options: { from?: number; timeoutMs?: number } = {}): Promise<string> {
    const from = options.from ?? 0;
    return this.#wait(String(pattern), options.timeoutMs ?? 10_000, () => {
      const seen = plain(this.#out.slice(from));
      const ok = typeof pattern === 'string' ? seen.includes(pattern) : pattern.test(seen);
      return ok ? seen : undefined;
    });
  }

  /** Resolves when the last screen lines equal `lines` (what a person sees at the bottom of the terminal). */
  waitForScreenEnd(lines: readonly string[], options: { timeoutMs?: number } = {}): Promise<string> {
    return this.#wait(`screen ending with ${JSON.stringify(lines)}`, options.timeoutMs ?? 10_000, () => {
      const end = this.screen().slice(-lines.length);
      return end.length === lines.length && end.every((l, i) => l === lines[i]) ? end.join('\n') : undefined;
    });
  }

  #wait(what: string, timeoutMs: number, test: () => string | undefined): Promise<string> {
    return new Promise((resolve, reject) => {
      let done = false;
      const check = (): void => {
        if (done) return;
        const seen = test();
        if (seen !== undefined) finish(() => resolve(seen));
        else if (this.#proc.exitCode !== null || this.#proc.signalCode !== null) {
          finish(() =>
            reject(new Error(`process exited before ${what} appeared; screen:\n${this.screen().join('\n')}`)),
          );
        }
      };
      const timer = setTimeout(
        () =>
          finish(() =>
            reject(
              new Error(`timed out after ${timeoutMs} ms waiting for ${what}; screen:\n${this.screen().join('\n')}`),
            ),
          ),
        timeoutMs,
      );
      const finish = (f: () => void): void => {
        done = true;
        clearTimeout(timer);
        this.#waiters = this.#waiters.filter((w) => w !== check);
        f();
      };
      this.#waiters.push(check);
      check();
    });
  }

  /** Kills the relay and the command (SIGKILL to the relay closes the pty, which hangs up the command). */
  kill(): void {
    this.#proc.kill('SIGKILL');
  }
}
