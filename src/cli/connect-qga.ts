import { QmpCommandError } from '../errors/qmp-command-error.js';
import { DEFAULT_CONNECT_TIMEOUT_MS } from '../limits.js';
import { QgaClient } from '../qga/qga-client.js';
import type { JsonObject } from '../wire/json-value.js';
import type { ShellConnection, ShellReply, ShellSendOptions } from './shell-connection.js';

/** Connects to a guest agent socket and adapts the client for the CLI (no greeting, no events). */
export async function connectQga(address: string, timeoutMs = DEFAULT_CONNECT_TIMEOUT_MS): Promise<ShellConnection> {
  const client = await QgaClient.connect(address, { timeoutMs });
  return {
    greeting: undefined,
    async send(execute: string, args: JsonObject, options: ShellSendOptions = {}): Promise<ShellReply> {
      try {
        const value = await client.executeRaw(execute, args, {
          ...(options.signal === undefined ? {} : { signal: options.signal }),
          ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
        });
        // guest-shutdown and guest-suspend-* never answer: shown as the empty object QEMU would send.
        return { return: value ?? {} };
      } catch (err) {
        if (err instanceof QmpCommandError) return { error: { class: err.errorClass, desc: err.desc } };
        throw err;
      }
    },
    onEvent(): void {
      // The agent sends no events.
    },
    closed: client.closed,
    async close(): Promise<void> {
      await client.close();
    },
  };
}
