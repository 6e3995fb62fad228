import { DEFAULT_CONNECT_TIMEOUT_MS } from '../../limits.js';
import { type OptionSpec, type ParsedArgv, parseArgv } from '../argv.js';
import type { CliIo } from '../cli-io.js';
import { connectQmp } from '../connect-qmp.js';
import { EXIT_CODES, exitCodeFor } from '../exit-codes.js';
import type { ShellConnection } from '../shell-connection.js';
import { defaultHistoryPath } from '../shell-history.js';
import { ShellRepl, type ShellReplOptions } from '../shell-repl.js';

/** Options every shell front end takes (`qmp-shell`, `qmpkit shell`, `launch --shell`, `start`). */
export const SHELL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  help: { type: 'boolean', short: 'h' },
  hmp: { type: 'boolean', short: 'H' },
  verbose: { type: 'boolean', short: 'v' },
  pretty: { type: 'boolean', short: 'p' },
  logfile: { type: 'string', short: 'l' },
  'no-schema': { type: 'boolean' },
  history: { type: 'string' },
  'no-history': { type: 'boolean' },
};

/** Help for the shell options, shared by the commands that open a shell. */
export const SHELL_OPTIONS_HELP = `  -H, --hmp               HMP shell: each line runs through human-monitor-command
  -v, --verbose           print each command as JSON before sending it
  -p, --pretty            pretty-print JSON (indent 4, keys sorted, as qmp-shell)
  -l, --logfile FILE      write each command and its reply to FILE, one JSON object per line
      --no-schema         do not fetch query-qmp-schema (values untyped; only command names complete)
      --history FILE      history file (default ~/.qmp-shell_history, shared with QEMU's qmp-shell)
      --no-history        keep no history file`;

const HELP = (name: string): string => `usage: ${name} [-h] [-H] [-N] [-v] [-p] [-l LOGFILE] [--reconnect] [ADDRESS]

An interactive QMP shell on a QEMU monitor, compatible with QEMU's qmp-shell.

ADDRESS is a unix socket path, HOST:PORT, unix:PATH or tcp:HOST:PORT (default: $QMP_SOCKET).

options:
  -h, --help              show this help and exit
  -N, --skip-negotiation  do not send qmp_capabilities (type it yourself)
      --reconnect         when the connection is lost, keep reconnecting instead of exiting
      --timeout-ms MS     deadline to connect and negotiate (default ${DEFAULT_CONNECT_TIMEOUT_MS})
${SHELL_OPTIONS_HELP}

Lines:
  query-status                          a command
  eject device=ide1-cd0 force=true      key=value arguments; true/false/null/numbers typed,
                                        and typed by the schema (id=1 stays a string where it is one)
  blockdev-add driver=file node-name=f0 filename=/tmp/disk.img cache.direct=true
                                        dotted keys build nested objects
  device_add driver=virtio-blk-pci drive=f0 desc="two words" opts={"a": [1, 2]}
                                        shell quoting; values starting with { or [ are JSON
  {"execute": "query-status"}           a whole QMP command as JSON
  transaction( ... )                    TRANS> mode: one action per line, ')' sends them all
Tab completes commands, argument names and enum values. Events print as they arrive.
Ctrl-C clears the line (or abandons a transaction, or stops waiting for a reply);
Ctrl-D or Ctrl-C twice exits.

Exit status: 0 normal exit (also when QEMU quits), 2 usage error, 3 could not connect or
connection lost (see 'qmpkit --help').
`;

/** Builds the REPL options from parsed shell options. */
export function shellReplOptions(
  p: ParsedArgv,
  io: CliIo,
  address: string,
  connect: () => Promise<ShellConnection>,
): ShellReplOptions {
  return {
    io,
    address,
    connect,
    hmp: p.flag('hmp'),
    verbose: p.flag('verbose'),
    pretty: p.flag('pretty'),
    logFile: p.string('logfile'),
    schema: !p.flag('no-schema'),
    historyPath: p.flag('no-history') ? null : (p.string('history') ?? defaultHistoryPath(io.env)),
  };
}

/** `qmp-shell [...] ADDRESS` and `qmpkit shell [...] ADDRESS`. */
export async function runShell(argv: readonly string[], io: CliIo, name = 'qmpkit shell'): Promise<number> {
  let p: ParsedArgv;
  let timeoutMs: number | undefined;
  try {
    p = parseArgv(
      argv,
      {
        ...SHELL_OPTIONS,
        'skip-negotiation': { type: 'boolean', short: 'N' },
        reconnect: { type: 'boolean' },
        'timeout-ms': { type: 'string' },
      },
      { command: name },
    );
    timeoutMs = p.integer('timeout-ms', 1);
  } catch (err) {
    io.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    return exitCodeFor(err);
  }
  if (p.flag('help')) {
    io.stdout.write(HELP(name));
    return EXIT_CODES.ok;
  }
  const address = p.positionals[0] ?? io.env['QMP_SOCKET'];
  if (address === undefined || address === '') {
    io.stderr.write(`${name}: QMP socket or TCP address must be specified (or set $QMP_SOCKET)\n`);
    return EXIT_CODES.usage;
  }
  if (p.positionals.length > 1) {
    io.stderr.write(`${name}: unexpected argument '${p.positionals[1]}' (see '${name} --help')\n`);
    return EXIT_CODES.usage;
  }
  const negotiate = !p.flag('skip-negotiation');
  const repl = new ShellRepl({
    ...shellReplOptions(p, io, address, () => connectQmp(address, { timeoutMs, negotiate })),
    negotiated: negotiate,
    reconnect: p.flag('reconnect'),
  });
  return repl.run();
}
