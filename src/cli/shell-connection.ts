import type { QmpEvent, QmpGreeting } from '../protocol/messages.js';
import type { JsonObject, JsonValue } from '../wire/json-value.js';

/** QEMU's answer to one command, as the shell prints it (`{"return": ...}` or `{"error": {...}}`). */
export type ShellReply =
  | { readonly return: JsonValue }
  | { readonly error: { readonly class: string; readonly desc: string } };

/** Per-command options. */
export interface ShellSendOptions {
  /** Stops waiting for the reply (`QMP_ERR_ABORTED`); the command may still run in QEMU. */
  readonly signal?: AbortSignal | undefined;
  /** Stops waiting after this many ms (`QMP_ERR_TIMEOUT`). */
  readonly timeoutMs?: number | undefined;
}

/**
 * What the shell, `exec` and `events` need from a QMP connection. `connectQmp` adapts a `QmpClient`
 * to it; tests can supply their own.
 */
export interface ShellConnection {
  /** The greeting, for the banner (absent when the peer sent none we understood). */
  readonly greeting: QmpGreeting | undefined;
  /**
   * Sends one command. Resolves with QEMU's reply, error replies included; rejects only when no
   * reply can come (connection lost, aborted, timed out).
   */
  send(execute: string, args: JsonObject, options?: ShellSendOptions): Promise<ShellReply>;
  /** Calls `listener` for every asynchronous event, as it arrives. */
  onEvent(listener: (event: QmpEvent) => void): void;
  /** Resolves once when the connection ends: `undefined` when closed by us, else the reason. */
  readonly closed: Promise<Error | undefined>;
  /** Closes the connection. */
  close(): Promise<void>;
}
