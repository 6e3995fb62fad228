import type { Readable, Writable } from 'node:stream';

/**
 * What a subcommand may touch of the outside world. `qmpkit` passes the real process streams; tests
 * can pass their own. Every `run*(argv, io)` subcommand entry takes one and resolves to an exit code
 * (see `EXIT_CODES`); none of them calls `process.exit`.
 */
export interface CliIo {
  /** Input (the shell reads it; a TTY gets line editing). */
  readonly stdin: Readable & { readonly isTTY?: boolean | undefined };
  /** Results: JSON on stdout, nothing else, so pipelines work. */
  readonly stdout: Writable & { readonly isTTY?: boolean | undefined; readonly columns?: number | undefined };
  /** Diagnostics and errors. */
  readonly stderr: Writable;
  /** Environment (`QMP_SOCKET`, `HOME`, ...). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Fires on SIGINT/SIGTERM/SIGHUP when the command does not own the terminal; commands stop cleanly. */
  readonly signal?: AbortSignal | undefined;
}
