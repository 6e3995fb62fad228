import type { Duplex } from 'node:stream';
import { QmpClient } from '../client/qmp-client.js';
import { QmpCommandError } from '../errors/qmp-command-error.js';
import { DEFAULT_CONNECT_TIMEOUT_MS } from '../limits.js';
import type { QmpEvent } from '../protocol/messages.js';
import type { JsonObject } from '../wire/json-value.js';
import type { ShellConnection, ShellReply, ShellSendOptions } from './shell-connection.js';

/** Options of {@link connectQmp}. */
export interface ConnectQmpOptions {
  /** Deadline for connect, greeting and negotiation, in ms. */
  readonly timeoutMs?: number | undefined;
  /** Send `qmp_capabilities` (false for `-N`). */
  readonly negotiate?: boolean | undefined;
}

/** Connects to a QMP address (or an already open stream) and adapts the client for the CLI. */
export async function connectQmp(target: string | Duplex, options: ConnectQmpOptions = {}): Promise<ShellConnection> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  try {
    const client = await QmpClient.connect(target, { timeoutMs, negotiate: options.negotiate ?? true });
    return adaptClient(client);
  } catch (err) {
    if (typeof target !== 'string') throw err;
    // Only a failure needs the diagnosis: it stays out of the way of a command that connects.
    const { diagnoseConnect } = await import('./diagnose-connect.js');
    throw await diagnoseConnect(target, err, timeoutMs);
  }
}

/** Wraps a connected `QmpClient` (e.g. the launcher's) for the CLI. */
export function adaptClient(client: QmpClient): ShellConnection {
  return {
    greeting: client.greeting,
    async send(execute: string, args: JsonObject, options: ShellSendOptions = {}): Promise<ShellReply> {
      try {
        const value = await client.executeRaw(execute, args, {
          ...(options.signal === undefined ? {} : { signal: options.signal }),
          ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
        });
        return { return: value };
      } catch (err) {
        if (err instanceof QmpCommandError) return { error: { class: err.errorClass, desc: err.desc } };
        throw err;
      }
    },
    onEvent(listener: (event: QmpEvent) => void): void {
      client.on('*', (event) => listener(event as unknown as QmpEvent));
    },
    closed: client.closed,
    async close(): Promise<void> {
      await client.close();
    },
  };
}
