import { DEFAULT_CONNECT_TIMEOUT_MS } from '../../limits.js';
import { loadQgaSchema } from '../../schema/load-qga-schema.js';
import { type ParsedArgv, parseArgv } from '../argv.js';
import type { CliIo } from '../cli-io.js';
import { connectQga } from '../connect-qga.js';
import { EXIT_CODES, exitCodeFor } from '../exit-codes.js';
import { ShellCompleter } from '../shell-completer.js';
import { ShellRepl } from '../shell-repl.js';
import { ShellSchema } from '../shell-schema.js';
import { SHELL_OPTIONS, shellReplOptions } from './shell.js';

const HELP = `usage: qmpkit ga-shell [-h] [-v] [-p] [-l LOGFILE] [--timeout-ms MS] SOCKET

An interactive shell on a QEMU guest agent (qemu-ga): the VM's agent chardev socket, or
$QGA_SOCKET. The same line syntax, history and completion as qmpkit shell; commands, argument
names and enum values complete from the agent's schema (shipped with qmpkit). The client
synchronises with the agent (guest-sync-delimited) on connect and after a timeout or Ctrl-C.

  guest-ping
  guest-get-osinfo
  guest-file-open path=/etc/hostname
  guest-exec path=/bin/echo arg=["hi"] capture-output=true

options:
  -h, --help              show this help and exit
  -v, --verbose           print each command as JSON before sending it
  -p, --pretty            pretty-print JSON (indent 4, keys sorted, as qmp-shell)
  -l, --logfile FILE      write each command and its reply to FILE, one JSON object per line
      --history FILE      history file (default ~/.qmp-shell_history)
      --no-history        keep no history file
      --timeout-ms MS     deadline to connect and for the agent's first answer (default ${DEFAULT_CONNECT_TIMEOUT_MS})

Exit status: 0 normal exit, 2 usage error, 3 could not connect, no agent answered, or
connection lost (see 'qmpkit --help').
`;

/** `qmpkit ga-shell SOCKET`: the shell's REPL on a guest agent. */
export async function runGaShell(argv: readonly string[], io: CliIo): Promise<number> {
  const name = 'qmpkit ga-shell';
  let p: ParsedArgv;
  let timeoutMs: number | undefined;
  try {
    const { hmp: _hmp, 'no-schema': _noSchema, ...options } = SHELL_OPTIONS;
    p = parseArgv(argv, { ...options, 'timeout-ms': { type: 'string' } }, { command: name });
    timeoutMs = p.integer('timeout-ms', 1);
  } catch (err) {
    io.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    return exitCodeFor(err);
  }
  if (p.flag('help')) {
    io.stdout.write(HELP);
    return EXIT_CODES.ok;
  }
  const address = p.positionals[0] ?? io.env['QGA_SOCKET'];
  if (address === undefined || address === '') {
    io.stderr.write(`${name}: the guest agent socket must be specified (or set $QGA_SOCKET)\n`);
    return EXIT_CODES.usage;
  }
  if (p.positionals.length > 1) {
    io.stderr.write(`${name}: unexpected argument '${p.positionals[1]}' (see '${name} --help')\n`);
    return EXIT_CODES.usage;
  }
  const schema = ShellSchema.fromQapiSchema(loadQgaSchema());
  const repl = new ShellRepl({
    ...shellReplOptions(p, io, address, () => connectQga(address, timeoutMs)),
    banner: 'Welcome to the guest agent shell!\nConnected\n\n',
    prompt: '(QGA) ',
    completion: { schema, completer: new ShellCompleter({ schema }) },
  });
  return repl.run();
}
