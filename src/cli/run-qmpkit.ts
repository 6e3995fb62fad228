import { readFileSync } from 'node:fs';
import type { CliIo } from './cli-io.js';
import { EXIT_CODES } from './exit-codes.js';

/** A subcommand: parses its own argv, resolves with its exit code, never calls `process.exit`. */
export type SubcommandRunner = (argv: readonly string[], io: CliIo) => Promise<number> | number;

const HELP = `usage: qmpkit COMMAND [ARGS...]

The toolkit for the QEMU Machine Protocol.

Commands:
  shell    interactive QMP shell on a QEMU monitor (the same as qmp-shell)
  exec     run one command, print its return value as JSON
  events   print events as JSON lines as they arrive
  launch   start QEMU with a private QMP monitor (and a shell with --shell)
  start    start the simulated QEMU and open the shell on it (what 'npm start' runs)
  sim      run the simulated QEMU on a socket
  gen      generate TypeScript types from a QAPI schema
  proxy    share one QMP monitor among several clients
  schema   compare QEMU schemas (diff), describe a command or event (show)
  replay   serve a recorded QMP session (a --qmp-log transcript) as a QMP server
  ga       run one guest agent (qemu-ga) command, print its return value as JSON
  ga-shell interactive shell on a guest agent socket

'qmpkit COMMAND --help' describes each. ADDRESS is a unix socket path, HOST:PORT,
unix:PATH or tcp:HOST:PORT.

Exit status (every command):
  0    success
  1    QEMU answered with an error (class and desc on stderr)
  2    usage error
  3    could not connect, connection lost, protocol failure, or QEMU failed to launch
  4    a --timeout-ms deadline passed
  70   internal error (a bug: please report it)
  130  interrupted (SIGINT, SIGTERM, SIGHUP)

Options:
  -h, --help     show this help
  -V, --version  show the version
`;

function version(): string {
  // dist/src/cli/run-qmpkit.js -> package.json, in the repository and in an installed package.
  const pkg: unknown = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
  const v = typeof pkg === 'object' && pkg !== null && 'version' in pkg ? pkg.version : undefined;
  return typeof v === 'string' ? v : 'unknown';
}

/** Runs `qmpkit ARGV...` and resolves with the exit code. */
export async function runQmpkit(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
      io.stderr.write(HELP);
      return EXIT_CODES.usage;
    case '-h':
    case '--help':
      io.stdout.write(HELP);
      return EXIT_CODES.ok;
    case 'help':
      if (rest[0] === undefined) {
        io.stdout.write(HELP);
        return EXIT_CODES.ok;
      }
      return runQmpkit([rest[0], '--help'], io);
    case '-V':
    case '--version':
      io.stdout.write(`qmpkit ${version()}\n`);
      return EXIT_CODES.ok;
    case 'shell':
      return (await import('./commands/shell.js')).runShell(rest, io, 'qmpkit shell');
    case 'exec':
      return (await import('./commands/exec.js')).runExec(rest, io);
    case 'events':
      return (await import('./commands/events.js')).runEvents(rest, io);
    case 'launch':
      return (await import('./commands/launch.js')).runLaunch(rest, io);
    case 'start':
      return (await import('./commands/start.js')).runStart(rest, io);
    case 'gen':
      return (await import('./commands/gen.js')).runGen([...rest], io);
    case 'sim':
      return (await import('./commands/sim.js')).runSim(rest, io);
    case 'proxy':
      return (await import('./commands/proxy.js')).runProxy(rest, io);
    case 'schema':
      return (await import('./commands/schema.js')).runSchema(rest, io);
    case 'replay':
      return (await import('./commands/replay.js')).runReplay(rest, io);
    case 'ga':
      return (await import('./commands/ga.js')).runGa(rest, io);
    case 'ga-shell':
      return (await import('./commands/ga-shell.js')).runGaShell(rest, io);
    default:
      io.stderr.write(`qmpkit: unknown command '${command}' (see 'qmpkit --help')\n`);
      return EXIT_CODES.usage;
  }
}
