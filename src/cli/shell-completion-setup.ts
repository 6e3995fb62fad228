// What the shell completes and how it types values, asked of the server once connected: HMP's
// command words, or QMP's schema (falling back to the command names alone).
import type { JsonValue } from '../wire/json-value.js';
import { hmpCompletions, ShellCompleter } from './shell-completer.js';
import type { ShellConnection, ShellReply } from './shell-connection.js';
import { ShellSchema } from './shell-schema.js';

/** The shell's modes that decide what to ask for. */
export interface ShellCompletionMode {
  readonly hmp?: boolean;
  readonly negotiated?: boolean;
  readonly schema?: boolean;
}

/** What was learnt; a member left out keeps the shell's current one. */
export interface ShellCompletionSetup {
  hmpWords?: string[];
  schema?: ShellSchema;
  completer?: ShellCompleter;
}

/** Asks the server for what completion needs; a failed request just means less completion. */
export async function loadCompletion(conn: ShellConnection, mode: ShellCompletionMode): Promise<ShellCompletionSetup> {
  if (mode.hmp) {
    const help = await conn.send('human-monitor-command', { 'command-line': 'help' }).catch(() => undefined);
    const info = await conn.send('human-monitor-command', { 'command-line': 'info' }).catch(() => undefined);
    const text = (r: ShellReply | undefined): string =>
      r && 'return' in r && typeof r.return === 'string' ? r.return : '';
    return { hmpWords: hmpCompletions(text(help), text(info)) };
  }
  if (mode.negotiated === false) return {};
  if (mode.schema !== false) {
    const reply = await conn.send('query-qmp-schema', {}).catch(() => undefined);
    if (reply !== undefined && 'return' in reply) {
      try {
        const schema = ShellSchema.fromIntrospection(reply.return);
        return { schema, completer: new ShellCompleter({ schema }) };
      } catch {
        // Fall back to command names only.
      }
    }
  }
  const reply = await conn.send('query-commands', {}).catch(() => undefined);
  if (reply !== undefined && 'return' in reply && Array.isArray(reply.return)) {
    const names = reply.return.flatMap((c: JsonValue) =>
      typeof c === 'object' && c !== null && !Array.isArray(c) && typeof c !== 'bigint' && typeof c['name'] === 'string'
        ? [c['name']]
        : [],
    );
    return { completer: new ShellCompleter({ commands: names }) };
  }
  return {};
}
