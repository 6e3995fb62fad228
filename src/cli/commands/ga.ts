import { QmpCommandError } from '../../errors/qmp-command-error.js';
import { QmpConnectionError, QmpUsageError } from '../../errors/qmp-error.js';
import { DEFAULT_CONNECT_TIMEOUT_MS } from '../../limits.js';
import type { QgaClient } from '../../qga/qga-client.js';
import { type ParsedArgv, parseArgv } from '../argv.js';
import type { CliIo } from '../cli-io.js';
import { argsOption, checkCommandWords, isWholeLine, mergeArguments } from '../command-arguments.js';
import { EXIT_CODES, exitCodeFor } from '../exit-codes.js';
import { renderJson } from '../render-json.js';

const HELP = `usage: qmpkit ga SOCKET COMMAND [key=value ...] [--args JSON] [options]

Runs one QEMU guest agent (qemu-ga) command and prints its "return" as JSON on stdout, for
scripts. SOCKET is the VM's agent chardev (-chardev socket,path=SOCKET,server=on,... in front of
-device virtserialport,name=org.qemu.guest_agent.0). The client synchronises with the agent
(guest-sync-delimited) before the command.

  qmpkit ga /tmp/qga.sock guest-ping
  qmpkit ga /tmp/qga.sock guest-get-osinfo
  qmpkit ga /tmp/qga.sock guest-exec path=/bin/echo arg='["hi"]' capture-output=true
  qmpkit ga /tmp/qga.sock 'guest-exec-status pid=1042'              (a whole shell line)

key=value works as in the shell: dotted keys nest, {...}/[...] is JSON, true/false/null and numbers
are typed, and the agent's schema decides where a value is a string.
guest-shutdown and guest-suspend-* print {} once sent: the agent never answers them on success.

options:
  -h, --help            show this help and exit
      --args JSON       arguments as a JSON object (key=value pairs add to it)
  -p, --pretty          indent the JSON output
      --timeout-ms MS   deadline for the reply, the sync included (default: none)
      --connect-timeout-ms MS
                        deadline to connect and for the agent's first answer (default ${DEFAULT_CONNECT_TIMEOUT_MS})

Exit status:
  0  success (the return value is on stdout)
  1  the agent answered with an error (its class and desc are on stderr)
  2  usage error (bad option, bad key=value)
  3  could not connect, no agent answered within --connect-timeout-ms, or the connection was lost
  4  no reply within --timeout-ms (the command may still run in the guest)
  130 interrupted
`;

/** `qmpkit ga`: one guest agent command. */
export async function runGa(argv: readonly string[], io: CliIo): Promise<number> {
  let client: QgaClient | undefined;
  try {
    const p: ParsedArgv = parseArgv(
      argv,
      {
        help: { type: 'boolean', short: 'h' },
        args: { type: 'string' },
        pretty: { type: 'boolean', short: 'p' },
        'timeout-ms': { type: 'string' },
        'connect-timeout-ms': { type: 'string' },
      },
      { command: 'qmpkit ga' },
    );
    if (p.flag('help')) {
      io.stdout.write(HELP);
      return EXIT_CODES.ok;
    }
    const timeoutMs = p.integer('timeout-ms', 1);
    const connectTimeoutMs = p.integer('connect-timeout-ms', 1);
    const [address, command, ...pairs] = p.positionals;
    if (address === undefined) throw new QmpUsageError('qmpkit ga: missing SOCKET (see qmpkit ga --help)');
    if (command === undefined) throw new QmpUsageError('qmpkit ga: missing COMMAND (see qmpkit ga --help)');
    checkCommandWords('qmpkit ga', command, pairs);
    const asLine = isWholeLine(command);
    const base = await argsOption('qmpkit ga', p.string('args'));
    // The agent's schema ships with the package: values are typed before connecting.
    const [{ ShellLineParser }, { ShellSchema }, { loadQgaSchema }] = await Promise.all([
      import('../shell-line-parser.js'),
      import('../shell-schema.js'),
      import('../../schema/load-qga-schema.js'),
    ]);
    const parser = new ShellLineParser();
    parser.typer = ShellSchema.fromQapiSchema(loadQgaSchema());
    const parsed = asLine ? parser.parse(command) : parser.parseWords(command, pairs);
    if (parsed.kind !== 'execute')
      throw new QmpUsageError(`qmpkit ga: ${parsed.kind === 'error' ? parsed.message : 'bad command'}`);
    const args = mergeArguments('qmpkit ga', base, parsed.command.arguments);
    const { QgaClient } = await import('../../qga/qga-client.js');
    client = await QgaClient.connect(address, {
      timeoutMs: connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      ...(io.signal ? { signal: io.signal } : {}),
    });
    const value = await client.executeRaw(parsed.command.execute, args, {
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      ...(io.signal ? { signal: io.signal } : {}),
    });
    io.stdout.write(
      `${renderJson(value ?? {}, p.flag('pretty') ? { style: 'pretty', indent: 2 } : { style: 'compact' })}\n`,
    );
    return EXIT_CODES.ok;
  } catch (err) {
    if (err instanceof QmpCommandError) {
      io.stderr.write(`qmpkit ga: ${err.errorClass}: ${err.desc}\n`);
      return EXIT_CODES.qmpError;
    }
    let msg = err instanceof Error ? err.message : String(err);
    // The transport's hint speaks of QMP monitors; this socket is the agent's chardev.
    if (err instanceof QmpConnectionError && err.syscallCode === 'ENOENT')
      msg = msg.replace(
        /\(is QEMU running with -qmp on this path\?\)/,
        "(is the VM running with its guest agent's -chardev on this path?)",
      );
    io.stderr.write(msg.startsWith('qmpkit ga') ? `${msg}\n` : `qmpkit ga: ${msg}\n`);
    return exitCodeFor(err);
  } finally {
    await client?.close().catch(() => undefined);
  }
}
