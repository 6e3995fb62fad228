import { createInterface, type Interface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { QmpError } from '../errors/qmp-error.js';
import { SHELL_HISTORY_SIZE } from '../limits.js';
import type { QmpEvent } from '../protocol/messages.js';
import type { JsonObject, JsonValue } from '../wire/json-value.js';
import type { CliIo } from './cli-io.js';
import { EXIT_CODES, exitCodeFor } from './exit-codes.js';
import type { ShellCompleter } from './shell-completer.js';
import { loadCompletion, type ShellCompletionSetup } from './shell-completion-setup.js';
import type { ShellConnection, ShellReply } from './shell-connection.js';
import { loadHistory, saveHistory } from './shell-history.js';
import { ShellLineParser } from './shell-line-parser.js';
import { describe, ShellOutput } from './shell-output.js';

/** Delay between reconnection attempts with `--reconnect`, in ms. */
const RECONNECT_DELAY_MS = 1_000;

/** Options of the interactive shell. */
export interface ShellReplOptions {
  readonly io: CliIo;
  /** The address as the user typed it, for messages. */
  readonly address: string;
  /** Opens a connection: at start and, with `reconnect`, after each loss. */
  readonly connect: () => Promise<ShellConnection>;
  /** `-H`: HMP commands through `human-monitor-command`. */
  readonly hmp?: boolean;
  /** `-p`: pretty JSON (indent 4, sorted keys, as qmp-shell). */
  readonly pretty?: boolean;
  /** `-v`: print each command before sending it. */
  readonly verbose?: boolean;
  /** `-l FILE`: append each exchange to FILE as one JSON line. */
  readonly logFile?: string | undefined;
  /** `--reconnect`: when the connection is lost, keep trying to reconnect instead of exiting. */
  readonly reconnect?: boolean;
  /** Fetch `query-qmp-schema` to type values and complete arguments (default true). */
  readonly schema?: boolean;
  /** `-N`: the connection is not negotiated; the schema is fetched after the user's `qmp_capabilities`. */
  readonly negotiated?: boolean;
  /** History file; `null` for none. */
  readonly historyPath: string | null;
  /** Banner printed instead of QEMU's (the guest agent shell). */
  readonly banner?: string;
  /** Completion and value types known up front (the agent's bundled schema) instead of asking the server. */
  readonly completion?: ShellCompletionSetup;
  /** The prompt (default `(QEMU) `). */
  readonly prompt?: string;
}

const PARSE_HINT = 'command format: <command-name> [arg-name1=arg1] ... [arg-nameN=argN]';

/**
 * The interactive QMP (or HMP) shell: banner, prompt, line editing and history (on a terminal),
 * completion, events printed above the prompt as they arrive, and a clean exit when the connection
 * goes away. `run()` resolves with the exit code.
 */
export class ShellRepl {
  readonly #o: ShellReplOptions;
  readonly #parser = new ShellLineParser();
  readonly #tty: boolean;
  readonly #out: ShellOutput;
  #conn: ShellConnection | undefined;
  #rl: Interface | undefined;
  #completer: ShellCompleter | undefined;
  #hmpWords: string[] = [];
  /** Set by the HMP `cpu N` command; QEMU's shell always sends 0, which fails on machines without CPUs. */
  #cpuIndex: number | undefined;
  #queue: string[] = [];
  #busy = false;
  #inputDone = false;
  #prompting = false;
  #running: AbortController | undefined;
  #closing = false;
  #expectClose = false;
  #lastInterrupt = false;
  #history: string[] = [];
  #finish: ((code: number) => void) | undefined;
  /** Aborted when the shell ends: stops the reconnect loop's waits. */
  readonly #stopped = new AbortController();
  readonly #done: Promise<number>;

  constructor(options: ShellReplOptions) {
    this.#o = options;
    this.#tty = Boolean(options.io.stdin.isTTY && options.io.stdout.isTTY);
    this.#out = new ShellOutput(options.io, this.#tty, options.pretty === true);
    this.#done = new Promise((resolve) => {
      this.#finish = resolve;
    });
  }

  /** Connects, prints the banner, runs until EOF, Ctrl-C on an empty line, or the connection ends. */
  async run(): Promise<number> {
    const { io } = this.#o;
    try {
      this.#conn = await this.#o.connect();
    } catch (err) {
      // Connection errors already name the address; say it once.
      const why = describe(err).replace(`Cannot connect to ${this.#o.address}: `, '');
      io.stderr.write(`ERROR: Couldn't connect to ${this.#o.address}: ${why}\n`);
      return exitCodeFor(err);
    }
    if (this.#o.logFile !== undefined) {
      try {
        this.#out.openLog(this.#o.logFile);
      } catch (err) {
        io.stderr.write(`ERROR: Cannot open log file ${this.#o.logFile}: ${describe(err)}\n`);
        await this.#conn.close();
        return EXIT_CODES.usage;
      }
    }
    this.#attach(this.#conn);
    await this.#loadCompletion(this.#conn);
    // The connection may already be gone (QEMU exited right after greeting).
    if (this.#closing) return this.#done;
    this.#banner(this.#conn);
    this.#startReadline();
    // Without a terminal, Ctrl-C arrives as a signal rather than through readline.
    if (io.signal?.aborted) this.#end(EXIT_CODES.interrupted);
    else io.signal?.addEventListener('abort', () => this.#end(EXIT_CODES.interrupted), { once: true });
    this.#prompt();
    return this.#done;
  }

  #banner(conn: ShellConnection): void {
    const out = this.#o.io.stdout;
    if (this.#o.banner !== undefined) {
      out.write(this.#o.banner);
      return;
    }
    out.write(this.#o.hmp ? 'Welcome to the HMP shell!\n' : 'Welcome to the QMP low-level shell!\n');
    const v = conn.greeting?.QMP.version.qemu;
    out.write(v === undefined ? 'Connected\n' : `Connected to QEMU ${v.major}.${v.minor}.${v.micro}\n\n`);
  }

  #attach(conn: ShellConnection): void {
    conn.onEvent((event) => this.#onEvent(event));
    void conn.closed.then((reason) => this.#onClosed(conn, reason));
  }

  async #loadCompletion(conn: ShellConnection): Promise<void> {
    const got = this.#o.completion ?? (await loadCompletion(conn, this.#o));
    if (got.hmpWords !== undefined) this.#hmpWords = got.hmpWords;
    if (got.schema !== undefined) this.#parser.typer = got.schema;
    if (got.completer !== undefined) this.#completer = got.completer;
  }

  #startReadline(): void {
    const { io } = this.#o;
    if (this.#tty && this.#o.historyPath !== null) this.#history = loadHistory(this.#o.historyPath, SHELL_HISTORY_SIZE);
    const rl = createInterface({
      input: io.stdin,
      output: io.stdout,
      terminal: this.#tty,
      historySize: SHELL_HISTORY_SIZE,
      history: [...this.#history],
      removeHistoryDuplicates: false,
      completer: (line: string) => this.#complete(line),
    });
    this.#rl = rl;
    rl.on('history', (h: string[]) => {
      this.#history = h;
      this.#saveHistory();
    });
    rl.on('line', (line: string) => {
      this.#prompting = false;
      this.#lastInterrupt = false;
      this.#queue.push(line);
      void this.#pump();
    });
    rl.on('close', () => {
      this.#inputDone = true;
      this.#prompting = false;
      if (this.#tty && !this.#closing) io.stdout.write('\n');
      void this.#pump();
    });
    rl.on('SIGINT', () => this.#interrupt());
  }

  #complete(line: string): [string[], string] {
    if (this.#o.hmp) return [this.#hmpWords.filter((w) => w.startsWith(line)), line];
    return this.#completer?.complete(line, this.#parser.inTransaction) ?? [[], line];
  }

  #prompt(): void {
    const rl = this.#rl;
    if (rl === undefined || this.#inputDone || this.#closing) return;
    // QEMU's HMP shell keeps the QMP prompt; only its banner differs.
    rl.setPrompt(this.#parser.inTransaction ? 'TRANS> ' : (this.#o.prompt ?? '(QEMU) '));
    this.#prompting = true;
    if (this.#tty) rl.prompt();
  }

  /** Ctrl-C: abandons the running command's wait, the open transaction or the typed line; twice on an empty line exits. */
  #interrupt(): void {
    const { stdout } = this.#o.io;
    if (this.#running !== undefined) {
      this.#running.abort();
      return;
    }
    const rl = this.#rl;
    if (rl === undefined) return;
    if (rl.line === '' && !this.#parser.inTransaction) {
      if (this.#lastInterrupt) {
        stdout.write('^C\n');
        this.#end(EXIT_CODES.ok);
        return;
      }
      this.#lastInterrupt = true;
      stdout.write('^C\n(To exit, press Ctrl-C again or Ctrl-D)\n');
      this.#prompt();
      return;
    }
    this.#lastInterrupt = false;
    rl.write(null, { ctrl: true, name: 'e' });
    stdout.write('^C\n');
    if (this.#parser.inTransaction) {
      this.#parser.abortTransaction();
      stdout.write('Transaction abandoned\n');
    }
    rl.write(null, { ctrl: true, name: 'u' });
    this.#prompt();
  }

  async #pump(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      for (let line = this.#queue.shift(); line !== undefined; line = this.#queue.shift()) {
        if (this.#closing) return;
        await this.#handle(line);
      }
    } finally {
      this.#busy = false;
    }
    if (this.#closing) return;
    if (this.#inputDone) this.#end(EXIT_CODES.ok);
    else this.#prompt();
  }

  async #handle(line: string): Promise<void> {
    if (this.#o.hmp) {
      await this.#handleHmp(line);
      return;
    }
    const r = this.#parser.parse(line);
    switch (r.kind) {
      case 'empty':
      case 'pending':
        return;
      case 'error':
        this.#o.io.stderr.write(`Error while parsing command line: ${r.message}\n${PARSE_HINT}\n`);
        return;
      case 'execute': {
        const { execute, arguments: args } = r.command;
        if (this.#o.verbose) this.#print(this.#out.json({ execute, arguments: args }));
        const reply = await this.#send(execute, args);
        if (reply === undefined) return;
        this.#print(this.#out.json(reply));
        this.#out.log({ execute, arguments: args, ...reply });
        if ('return' in reply) {
          if (execute === 'quit') this.#expectClose = true;
          if (execute === 'qmp_capabilities' && this.#o.negotiated === false && this.#conn !== undefined) {
            await this.#loadCompletion(this.#conn);
          }
        }
      }
    }
  }

  async #handleHmp(line: string): Promise<void> {
    const words = line.trim().split(/\s+/);
    if (words[0] === '') return;
    if (words[0] === 'cpu') {
      const idx = words[1] !== undefined && /^\d+$/.test(words[1]) ? Number(words[1]) : undefined;
      if (idx === undefined) {
        this.#print('cpu command takes an integer argument');
        return;
      }
      const check = await this.#send('human-monitor-command', { 'command-line': 'info version', 'cpu-index': idx });
      if (check === undefined) return;
      if ('return' in check) this.#cpuIndex = idx;
      else this.#print('bad CPU index');
      return;
    }
    const args: JsonObject = { 'command-line': line };
    if (this.#cpuIndex !== undefined) args['cpu-index'] = this.#cpuIndex;
    if (this.#o.verbose) this.#print(this.#out.json({ execute: 'human-monitor-command', arguments: args }));
    const reply = await this.#send('human-monitor-command', args);
    if (reply === undefined) return;
    this.#out.log({ execute: 'human-monitor-command', arguments: args, ...reply });
    if ('error' in reply) {
      this.#print(`${reply.error.class}: ${reply.error.desc}`);
    } else if (typeof reply.return === 'string' && reply.return !== '') {
      const text = reply.return.replace(/\r\n/g, '\n');
      this.#print(text.endsWith('\n') ? text.slice(0, -1) : text);
    }
    if ('return' in reply && /^\s*(q|quit)\s*$/.test(line)) this.#expectClose = true;
  }

  /** Sends and reports transport failures; undefined when there is no reply to print. */
  async #send(execute: string, args: JsonObject): Promise<ShellReply | undefined> {
    const conn = this.#conn;
    if (conn === undefined) {
      this.#o.io.stderr.write(`Not connected to ${this.#o.address}${this.#o.reconnect ? ' (reconnecting...)' : ''}\n`);
      return undefined;
    }
    const ac = new AbortController();
    this.#running = ac;
    try {
      return await conn.send(execute, args, { signal: ac.signal });
    } catch (err) {
      if (err instanceof QmpError && err.code === 'QMP_ERR_ABORTED') {
        this.#o.io.stderr.write('^C Interrupted; QEMU may still run the command\n');
      } else if (!this.#closing) {
        this.#o.io.stderr.write(`Error: ${describe(err)}\n`);
      }
      return undefined;
    } finally {
      this.#running = undefined;
    }
  }

  #print(text: string, stream: 'stdout' | 'stderr' = 'stdout'): void {
    this.#out.print(text, stream, this.#prompting ? this.#rl : undefined);
  }

  #onEvent(event: QmpEvent): void {
    if (event.event === 'SHUTDOWN') this.#expectClose = true;
    this.#print(this.#out.json(event as unknown as JsonValue));
  }

  #onClosed(conn: ShellConnection, reason: Error | undefined): void {
    if (this.#closing || conn !== this.#conn) return;
    this.#conn = undefined;
    const why = reason === undefined ? '' : `: ${describe(reason)}`;
    if (this.#o.reconnect) {
      this.#print(`Disconnected from ${this.#o.address}${why}; reconnecting...`, 'stderr');
      void this.#reconnect();
      return;
    }
    this.#print(
      this.#expectClose ? 'Connection closed by QEMU' : `Disconnected from ${this.#o.address}${why}`,
      'stderr',
    );
    this.#end(this.#expectClose ? EXIT_CODES.ok : EXIT_CODES.connection);
  }

  async #reconnect(): Promise<void> {
    while (!this.#closing) {
      try {
        const conn = await this.#o.connect();
        if (this.#closing) {
          await conn.close();
          return;
        }
        this.#conn = conn;
        this.#expectClose = false;
        this.#attach(conn);
        await this.#loadCompletion(conn);
        const v = conn.greeting?.QMP.version.qemu;
        this.#print(`Reconnected${v === undefined ? '' : ` to QEMU ${v.major}.${v.minor}.${v.micro}`}`, 'stderr');
        return;
      } catch {
        await delay(RECONNECT_DELAY_MS, undefined, { signal: this.#stopped.signal }).catch(() => undefined);
      }
    }
  }

  #saveHistory(): void {
    if (
      this.#tty &&
      this.#o.historyPath !== null &&
      !saveHistory(this.#o.historyPath, this.#history, SHELL_HISTORY_SIZE)
    ) {
      this.#o.io.stderr.write(`Failed to save history file '${this.#o.historyPath}'\n`);
    }
  }

  #end(code: number): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#stopped.abort();
    this.#prompting = false;
    this.#running?.abort();
    this.#rl?.close();
    this.#saveHistory();
    this.#out.closeLog();
    const conn = this.#conn;
    this.#conn = undefined;
    const finish = this.#finish;
    void (conn?.close() ?? Promise.resolve()).catch(() => undefined).finally(() => finish?.(code));
  }
}
