import type { Duplex } from 'node:stream';
import type { QmpError } from '../errors/qmp-error.js';
import { QmpUsageError } from '../errors/qmp-error.js';
import { DEFAULT_CONNECT_TIMEOUT_MS } from '../limits.js';
import type { QmpExecuteParams, QmpReturnsOf } from '../protocol/command-map.js';
import type { Commands as QgaCommands } from '../qapi/qga/index.js';
import type { QmpAddress } from '../transport/address.js';
import { connectTransport } from '../transport/connect.js';
import type { JsonObject, JsonValue } from '../wire/json-value.js';
import { runGuestExec } from './qga-exec.js';
import type { QgaClientOptions, QgaExecOptions, QgaExecResult, QgaExecuteOptions } from './qga-options.js';
import { QgaReader } from './qga-reader.js';
import { QgaSession, type QgaSessionState } from './qga-session.js';

/**
 * The agent's commands that never answer on success (`'success-response': false` in its schema):
 * a call resolves once the request is written, as QEMU documents.
 */
export const QGA_NO_REPLY_COMMANDS: ReadonlySet<string> = new Set([
  'guest-shutdown',
  'guest-suspend-disk',
  'guest-suspend-ram',
  'guest-suspend-hybrid',
]);

function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A client for the QEMU guest agent (qemu-ga) on the VM's agent chardev (a unix socket of
 * `-chardev socket,...,server=on` in front of a `virtserialport` named `org.qemu.guest_agent.0`),
 * or on any `Duplex`. The agent speaks QMP's JSON but has no greeting, no negotiation and no ids: the
 * client synchronises with `guest-sync-delimited` on connect and after any timeout or stray bytes,
 * keeps one command in flight, and resolves commands that never answer once they are written.
 * Typed by the agent's generated command map.
 */
export class QgaClient {
  readonly #session: QgaSession;
  readonly #commandTimeoutMs: number | undefined;

  private constructor(session: QgaSession, options: QgaClientOptions) {
    this.#session = session;
    this.#commandTimeoutMs = options.commandTimeoutMs;
  }

  /**
   * Connects to the agent's socket (a path, `unix:PATH`, `host:port`, `tcp:HOST:PORT`, QEMU's
   * `,server=on,wait=off` suffixes ignored) or takes a connected `Duplex`, then synchronises (unless
   * `syncOnConnect: false`), all within `timeoutMs`. Rejects with `QMP_ERR_CONNECT` (no socket),
   * `QMP_ERR_CONNECT_TIMEOUT` (nobody answered the sync: the agent is not running in the guest, or
   * the VM has not started) or `QMP_ERR_ABORTED`.
   */
  static async connect(target: string | QmpAddress | Duplex, options: QgaClientOptions = {}): Promise<QgaClient> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const started = Date.now();
    const transport = await connectTransport(target, {
      timeoutMs,
      signal: options.signal,
      ...(options.tls !== undefined ? { tls: options.tls } : {}),
    });
    const reader = new QgaReader({
      ...(options.maxMessageBytes !== undefined ? { maxMessageBytes: options.maxMessageBytes } : {}),
      ...(options.maxDepth !== undefined ? { maxDepth: options.maxDepth } : {}),
    });
    let session: QgaSession;
    try {
      session = new QgaSession(transport.stream, reader, options.label ?? transport.label, options);
    } catch (err) {
      transport.stream.destroy();
      throw err;
    }
    if (options.syncOnConnect ?? true) {
      try {
        await session.sync(Math.max(1, timeoutMs - (Date.now() - started)), options.signal, true);
      } catch (err) {
        await session.close();
        throw err;
      }
    }
    return new QgaClient(session, options);
  }

  /** `open` while usable, `closing` after `close()`, `closed` once the connection is gone. */
  get state(): QgaSessionState {
    return this.#session.state;
  }

  /** Calls waiting plus the one in flight. */
  get pendingCount(): number {
    return this.#session.pendingCount;
  }

  /** Resolves when the session ends: `undefined` after `close()`, else the error that ended it. Never rejects. */
  get closed(): Promise<QmpError | undefined> {
    return this.#session.closed;
  }

  /**
   * Runs an agent command and resolves to its `return`. Rejects with `QmpCommandError` (the agent's
   * `class` and `desc` verbatim, e.g. `CommandNotFound` / `Command guest-exec has been disabled`),
   * `QMP_ERR_TIMEOUT` / `QMP_ERR_ABORTED` (the next call synchronises first), `QMP_ERR_DISCONNECTED`
   * or `QMP_ERR_LIMIT` (too many calls waiting). `guest-shutdown` and `guest-suspend-*` resolve
   * with `undefined` once written: the agent never answers them on success.
   */
  execute<K extends keyof QgaCommands & string>(
    name: K,
    ...params: QmpExecuteParams<QgaCommands[K], QgaExecuteOptions>
  ): Promise<QmpReturnsOf<QgaCommands[K]>> {
    const [args, options] = params as [unknown, QgaExecuteOptions | undefined];
    return this.#call(name, args, options) as Promise<QmpReturnsOf<QgaCommands[K]>>;
  }

  /** Runs any command, typed or not: for agents newer than the generated types. */
  executeRaw(
    name: string,
    args?: JsonObject | Record<string, unknown>,
    options?: QgaExecuteOptions,
  ): Promise<JsonValue | undefined> {
    return this.#call(name, args, options);
  }

  #call(name: string, args: unknown, options: QgaExecuteOptions = {}): Promise<JsonValue | undefined> {
    if (args !== undefined && args !== null && !isJsonObject(args)) {
      const p = Promise.reject(new QmpUsageError(`execute ${name}: arguments must be an object`));
      p.catch(() => {});
      return p;
    }
    const timeoutMs = options.timeoutMs ?? this.#commandTimeoutMs;
    return this.#session.request(
      name,
      (args ?? undefined) as JsonObject | undefined,
      QGA_NO_REPLY_COMMANDS.has(name),
      timeoutMs,
      options.signal,
    );
  }

  /**
   * Synchronises with the agent now (`guest-sync-delimited` with a fresh random id, discarding
   * everything before its answer). Calls do this by themselves when needed; this is for checking
   * that an agent answers.
   */
  sync(options: QgaExecuteOptions = {}): Promise<void> {
    return this.#session.sync(options.timeoutMs ?? this.#commandTimeoutMs, options.signal);
  }

  /**
   * Runs a program in the guest with `guest-exec` and polls `guest-exec-status` until it exits;
   * resolves with its exit code (or signal) and its output decoded. `timeoutMs` bounds the whole
   * run; on expiry the process keeps running in the guest.
   */
  exec(path: string, options: QgaExecOptions = {}): Promise<QgaExecResult> {
    const timeoutMs = options.timeoutMs ?? this.#commandTimeoutMs;
    return runGuestExec(
      {
        guestExec: (args, o) => this.execute('guest-exec', args, o),
        guestExecStatus: (pid, o) => this.execute('guest-exec-status', { pid }, o),
      },
      path,
      { ...options, ...(timeoutMs !== undefined ? { timeoutMs } : {}) },
    );
  }

  /** Closes the connection; waiting calls reject with `QMP_ERR_CLOSED`. Idempotent. */
  close(): Promise<void> {
    return this.#session.close();
  }
}
