import { QmpUsageError } from '../../errors/qmp-error.js';
import { DEFAULT_CONNECT_TIMEOUT_MS } from '../../limits.js';
import { type ParsedArgv, parseArgv } from '../argv.js';
import type { CliIo } from '../cli-io.js';
import { argsOption, checkCommandWords, isWholeLine, mergeArguments } from '../command-arguments.js';
import { connectQmp } from '../connect-qmp.js';
import { EXIT_CODES, exitCodeFor } from '../exit-codes.js';
import { renderJson } from '../render-json.js';
import type { ShellConnection } from '../shell-connection.js';
import type { ShellLineParser, ShellLineResult } from '../shell-line-parser.js';

const HELP = `usage: qmpkit exec ADDRESS COMMAND [key=value ...] [--args JSON] [options]
       qmpkit exec ADDRESS --hmp "HMP COMMAND LINE" [options]

Runs one QMP command and prints its "return" as JSON on stdout, for scripts.

  qmpkit exec /tmp/qmp.sock query-status
  qmpkit exec /tmp/qmp.sock eject device=ide1-cd0 force=true
  qmpkit exec /tmp/qmp.sock 'device_add driver=e1000 id=net1'     (a whole shell line)
  qmpkit exec /tmp/qmp.sock '{"execute": "query-name"}'            (a QMP command as JSON)
  qmpkit exec localhost:4444 blockdev-add --args '{"driver": "null-co", "node-name": "n0"}'
  qmpkit exec /tmp/qmp.sock --hmp "info status"

key=value works as in the shell: dotted keys nest, {...}/[...] is JSON, true/false/null and numbers
are typed, and the connected QEMU's schema decides where a value is a string (id=1 sends "1").
Each key=value is one argument of your shell: quote it there (desc="two words").

options:
  -h, --help            show this help and exit
      --args JSON       arguments as a JSON object (key=value pairs add to it)
      --hmp LINE        run an HMP command through human-monitor-command and print its text
                        (an unknown HMP command exits 1)
  -p, --pretty          indent the JSON output
      --timeout-ms MS   deadline for the reply (default: none)
      --connect-timeout-ms MS
                        deadline to connect and negotiate (default ${DEFAULT_CONNECT_TIMEOUT_MS})
      --no-schema       do not fetch the schema to type key=value values
  -N, --skip-negotiation
                        do not send qmp_capabilities first

Exit status:
  0  success (the return value is on stdout)
  1  QEMU answered with an error (its class and desc are on stderr)
  2  usage error (bad option, bad key=value)
  3  could not connect, connection lost, or protocol failure
  4  no reply within --timeout-ms (the command may still run in QEMU)
  130 interrupted
`;

/** `qmpkit exec`. */
export async function runExec(argv: readonly string[], io: CliIo): Promise<number> {
  let conn: ShellConnection | undefined;
  try {
    const p: ParsedArgv = parseArgv(
      argv,
      {
        help: { type: 'boolean', short: 'h' },
        args: { type: 'string' },
        hmp: { type: 'string' },
        pretty: { type: 'boolean', short: 'p' },
        'timeout-ms': { type: 'string' },
        'connect-timeout-ms': { type: 'string' },
        'no-schema': { type: 'boolean' },
        'skip-negotiation': { type: 'boolean', short: 'N' },
      },
      { command: 'qmpkit exec' },
    );
    if (p.flag('help')) {
      io.stdout.write(HELP);
      return EXIT_CODES.ok;
    }
    const timeoutMs = p.integer('timeout-ms', 1);
    const connectTimeoutMs = p.integer('connect-timeout-ms', 1);
    const [address, command, ...pairs] = p.positionals;
    const asLine = command !== undefined && isWholeLine(command);
    if (command !== undefined) checkCommandWords('qmpkit exec', command, pairs);
    const hmp = p.string('hmp');
    if (address === undefined) throw new QmpUsageError('qmpkit exec: missing ADDRESS (see qmpkit exec --help)');
    if (hmp === undefined && command === undefined) {
      throw new QmpUsageError('qmpkit exec: missing COMMAND (see qmpkit exec --help)');
    }
    if (hmp !== undefined && (command !== undefined || p.string('args') !== undefined)) {
      throw new QmpUsageError('qmpkit exec: --hmp takes no COMMAND, key=value or --args');
    }
    const base = await argsOption('qmpkit exec', p.string('args'));
    // Check key=value before connecting so usage errors need no QEMU. Only a value the schema may
    // turn into a string (`command-line={x`) waits for the typed parse below.
    const rawJson = command?.trimStart().startsWith('{') === true;
    const useSchema = (pairs.length > 0 || (asLine && !rawJson)) && !p.flag('no-schema');
    // A bare command name needs no parser: a one-shot `exec SOCK query-status` loads as little as it can.
    const bare = command !== undefined && pairs.length === 0 && !asLine;
    const parserModule = bare ? undefined : await import('../shell-line-parser.js');
    const parseInput = (parser: ShellLineParser | undefined): ShellLineResult | undefined => {
      if (command === undefined) return undefined;
      if (parser === undefined) return { kind: 'execute', command: { execute: command.trim(), arguments: {} } };
      return asLine ? parser.parse(command) : parser.parseWords(command, pairs);
    };
    const untyped = parseInput(parserModule === undefined ? undefined : new parserModule.ShellLineParser());
    if (untyped?.kind === 'error' && !(useSchema && /JSON/.test(untyped.message))) {
      throw new QmpUsageError(`qmpkit exec: ${untyped.message}`);
    }

    conn = await connectQmp(address, { timeoutMs: connectTimeoutMs, negotiate: !p.flag('skip-negotiation') });
    const sendOptions = { signal: io.signal, timeoutMs };

    if (hmp !== undefined) {
      const reply = await conn.send('human-monitor-command', { 'command-line': hmp }, sendOptions);
      if ('error' in reply) {
        io.stderr.write(`qmpkit exec: ${reply.error.class}: ${reply.error.desc}\n`);
        return EXIT_CODES.qmpError;
      }
      const text = typeof reply.return === 'string' ? reply.return.replace(/\r\n/g, '\n') : '';
      // HMP reports an unknown command as ordinary output; a script needs to see it failed.
      if (/^unknown command: /.test(text)) {
        io.stderr.write(`qmpkit exec: ${text.trimEnd()}\n`);
        return EXIT_CODES.qmpError;
      }
      io.stdout.write(text);
      return EXIT_CODES.ok;
    }

    const parser = parserModule === undefined ? undefined : new parserModule.ShellLineParser();
    if (useSchema && parser !== undefined) {
      const schema = await conn.send('query-qmp-schema', {}, sendOptions).catch(() => undefined);
      if (schema !== undefined && 'return' in schema) {
        try {
          const { ShellSchema } = await import('../shell-schema.js');
          parser.typer = ShellSchema.fromIntrospection(schema.return);
        } catch {
          // Untyped values then.
        }
      }
    }
    const parsed = parseInput(parser);
    if (parsed?.kind !== 'execute')
      throw new QmpUsageError(`qmpkit exec: ${parsed?.kind === 'error' ? parsed.message : 'bad command'}`);
    const args = mergeArguments('qmpkit exec', base, parsed.command.arguments);
    const reply = await conn.send(parsed.command.execute, args, sendOptions);
    if ('error' in reply) {
      io.stderr.write(`qmpkit exec: ${reply.error.class}: ${reply.error.desc}\n`);
      return EXIT_CODES.qmpError;
    }
    io.stdout.write(
      `${renderJson(reply.return, p.flag('pretty') ? { style: 'pretty', indent: 2 } : { style: 'compact' })}\n`,
    );
    return EXIT_CODES.ok;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    io.stderr.write(msg.startsWith('qmpkit exec') ? `${msg}\n` : `qmpkit exec: ${msg}\n`);
    return exitCodeFor(err);
  } finally {
    await conn?.close().catch(() => undefined);
  }
}
