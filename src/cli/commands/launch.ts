import { closeSync } from 'node:fs';
import { QmpUsageError } from '../../errors/qmp-error.js';
import { launch, type QemuExitStatus, type QemuProcess } from '../../launcher/index.js';
import { LAUNCH_SHUTDOWN_TIMEOUT_MS, LAUNCH_START_TIMEOUT_MS } from '../../limits.js';
import type { JsonValue } from '../../wire/json-value.js';
import { type AddFdOption, openAddFds, parseAddFd } from '../add-fd-option.js';
import { type ParsedArgv, parseArgv } from '../argv.js';
import type { CliIo } from '../cli-io.js';
import { adaptClient } from '../connect-qmp.js';
import { EXIT_CODES, exitCodeFor } from '../exit-codes.js';
import { renderJson } from '../render-json.js';
import { ShellRepl } from '../shell-repl.js';
import { SHELL_OPTIONS, SHELL_OPTIONS_HELP, shellReplOptions } from './shell.js';

const HELP = `usage: qmpkit launch [--shell] [--qmp-log FILE] [options] [--] QEMU_BINARY [QEMU ARGS...]

Starts QEMU with a private QMP monitor (a unix socket in a private temp dir that QEMU connects to),
waits for its greeting, then either opens the shell on it (--shell) or prints its events as JSON
lines until QEMU exits or you press Ctrl-C. Shutting down: quit, then SIGTERM, then SIGKILL.

  qmpkit launch --shell -- qemu-system-x86_64 -machine q35 -m 512 -display none
  qmpkit launch -- qemu-system-x86_64 -machine none -display none | jq .

options:
  -h, --help                 show this help and exit
      --shell                open the QMP shell on the new QEMU; leaving it shuts QEMU down
      --qmp-log FILE         record every QMP message (both ways) to FILE as JSON lines
      --add-fd PATH[,set=N][,opaque=TEXT][,readonly=on]
                             open PATH (read-write unless readonly=on) and hand it to QEMU in fd
                             set N (default: its place among the --add-fd options, from 1) with
                             -add-fd: QEMU opens it as /dev/fdset/N; repeatable
      --start-timeout-ms MS  deadline for QEMU to start and greet (default ${LAUNCH_START_TIMEOUT_MS})
      --shutdown-timeout-ms MS
                             wait after quit, and after SIGTERM, before escalating (default ${LAUNCH_SHUTDOWN_TIMEOUT_MS})
shell options (with --shell):
${SHELL_OPTIONS_HELP}

Everything from the first argument that is not an option (or after --) is QEMU's command line.
Do not give it a -qmp for the launcher: it adds its own monitor.

Exit status: 0 QEMU exited with status 0 or was shut down by qmpkit; 2 usage error;
3 QEMU failed to start or died (its exit status, command line and stderr tail are printed).
`;

/** An error for the terminal; QEMU's stderr is left out when it was already shown as it came. */
function report(err: unknown, stderrShown: boolean): string {
  const message = err instanceof Error ? err.message : String(err);
  return stderrShown ? message.replace(/\nstderr:\n[\s\S]*$/, '') : message;
}

/**
 * How QEMU ended after an interrupt. A Ctrl-C in the terminal reaches QEMU too (same process group),
 * and QEMU then ends on its own signal handler before `quit` matters: say so, as QEMU did.
 */
function howItEnded(vm: QemuProcess, status: QemuExitStatus): string {
  if (status.signal !== null) return `QEMU killed by ${status.signal}`;
  const signalled = /terminating on signal (\d+)/.exec(vm.stderrTail());
  if (signalled !== null) return `QEMU terminated on signal ${signalled[1]}`;
  return `QEMU shut down (${vm.shutdownStep ?? 'quit'})`;
}

/** `qmpkit launch`. */
export async function runLaunch(argv: readonly string[], io: CliIo): Promise<number> {
  let p: ParsedArgv;
  let startTimeoutMs: number | undefined;
  let shutdownTimeoutMs: number | undefined;
  let addFds: AddFdOption[];
  try {
    p = parseArgv(
      argv,
      {
        ...SHELL_OPTIONS,
        shell: { type: 'boolean' },
        'qmp-log': { type: 'string' },
        'add-fd': { type: 'string', multiple: true },
        'start-timeout-ms': { type: 'string' },
        'shutdown-timeout-ms': { type: 'string' },
      },
      { command: 'qmpkit launch', stopAtPositional: true },
    );
    startTimeoutMs = p.integer('start-timeout-ms', 1);
    shutdownTimeoutMs = p.integer('shutdown-timeout-ms', 1);
    addFds = p.strings('add-fd').map(parseAddFd);
    if (!p.flag('help') && (p.rest === undefined || p.rest.length === 0)) {
      throw new QmpUsageError("qmpkit launch: missing the QEMU command line (see 'qmpkit launch --help')");
    }
  } catch (err) {
    io.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    return exitCodeFor(err);
  }
  if (p.flag('help')) {
    io.stdout.write(HELP);
    return EXIT_CODES.ok;
  }
  const shell = p.flag('shell');
  const qmpLog = p.string('qmp-log');
  let vm: QemuProcess;
  let fds: ReturnType<typeof openAddFds> = [];
  try {
    fds = openAddFds(addFds);
    vm = await launch({
      argv: p.rest ?? [],
      ...(fds.length === 0 ? {} : { fds }),
      ...(startTimeoutMs === undefined ? {} : { startTimeoutMs }),
      ...(shutdownTimeoutMs === undefined ? {} : { shutdownTimeoutMs }),
      ...(qmpLog === undefined ? {} : { qmpLog }),
      // In the shell QEMU's stderr would break the prompt; it is kept for the failure report.
      ...(shell ? {} : { stderr: io.stderr }),
      ...(io.signal === undefined ? {} : { signal: io.signal }),
    });
  } catch (err) {
    io.stderr.write(`qmpkit launch: ${report(err, !shell)}\n`);
    return exitCodeFor(err);
  } finally {
    // QEMU holds its own copies now (or never started): ours are not needed.
    for (const f of fds) closeSync(f.fd);
  }
  const v = vm.qmp.greeting?.QMP.version.qemu;
  const version = v === undefined ? '' : ` ${v.major}.${v.minor}.${v.micro}`;
  try {
    if (shell) {
      // The launcher owns the client: leaving the shell must not close it before `quit` is sent.
      const conn = { ...adaptClient(vm.qmp), close: async (): Promise<void> => {} };
      const repl = new ShellRepl({
        ...shellReplOptions(p, io, `QEMU${version} (pid ${vm.pid})`, async () => conn),
        negotiated: true,
      });
      const code = await repl.run();
      const status = await vm.close();
      // QEMU leaving with status 0 (the user typed quit) is a normal end of the session.
      if (vm.failure !== undefined && status.exitCode !== 0) {
        io.stderr.write(`qmpkit launch: ${report(vm.failure, false)}\n`);
        return EXIT_CODES.connection;
      }
      return code;
    }
    io.stderr.write(`QEMU${version} is running (pid ${vm.pid}); Ctrl-C shuts it down\n`);
    vm.qmp.on('*', (event) => {
      io.stdout.write(`${renderJson(event as unknown as JsonValue)}\n`);
    });
    const interrupted = await new Promise<boolean>((resolve) => {
      if (io.signal?.aborted) resolve(true);
      io.signal?.addEventListener('abort', () => resolve(true), { once: true });
      void vm.exited.then(() => resolve(false));
    });
    const status = await vm.close();
    if (interrupted) {
      io.stderr.write(`${howItEnded(vm, status)}\n`);
      return EXIT_CODES.ok;
    }
    if (status.exitCode === 0) return EXIT_CODES.ok;
    io.stderr.write(`qmpkit launch: ${vm.failure === undefined ? 'QEMU exited' : report(vm.failure, true)}\n`);
    return EXIT_CODES.connection;
  } finally {
    await vm.close();
  }
}
