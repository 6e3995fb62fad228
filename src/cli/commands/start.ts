import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QmpUsageError } from '../../errors/qmp-error.js';
import { isQemuRelease, QEMU_RELEASES } from '../../schema/index.js';
import { type QmpSimulator, startSimulator } from '../../simulator/index.js';
import { type ParsedArgv, parseArgv } from '../argv.js';
import type { CliIo } from '../cli-io.js';
import { connectQmp } from '../connect-qmp.js';
import { EXIT_CODES, exitCodeFor } from '../exit-codes.js';
import { ShellRepl } from '../shell-repl.js';
import { SHELL_OPTIONS, SHELL_OPTIONS_HELP, shellReplOptions } from './shell.js';

const HELP = `usage: qmpkit start [shell options] [ADDRESS]

What 'npm start' runs. Without ADDRESS: starts the simulated QEMU in this process, on a unix socket
in a private temp dir, and opens the QMP shell on it, so you can try QMP without QEMU installed
(type query-status, stop, cont, query-block, eject device=ide1-cd0 ...; Tab completes).
The simulator has a second monitor for another terminal: a QMP monitor serves one client at a
time, so the shell's own socket is busy while it runs; the banner prints both paths.
With ADDRESS: opens the shell on that QEMU instead (npm start -- /tmp/qmp.sock).

options:
  -h, --help              show this help and exit
      --qemu-version X.Y  the QEMU release the simulator plays: ${QEMU_RELEASES.join(', ')} (default 7.2)
${SHELL_OPTIONS_HELP}

Exit status: as the shell (0 on Ctrl-D; 3 when the connection is lost).
`;

/** `qmpkit start` (npm start). */
export async function runStart(argv: readonly string[], io: CliIo): Promise<number> {
  let p: ParsedArgv;
  try {
    p = parseArgv(argv, { ...SHELL_OPTIONS, 'qemu-version': { type: 'string' } }, { command: 'qmpkit start' });
    const v = p.string('qemu-version');
    if (v !== undefined && !isQemuRelease(v))
      throw new QmpUsageError(
        `qmpkit start: --qemu-version ${v}: not a bundled release (the simulator plays ${QEMU_RELEASES.join(', ')})`,
      );
  } catch (err) {
    io.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    return exitCodeFor(err);
  }
  if (p.flag('help')) {
    io.stdout.write(HELP);
    return EXIT_CODES.ok;
  }
  const [address, extra] = p.positionals;
  if (extra !== undefined) {
    io.stderr.write(`qmpkit start: unexpected argument '${extra}' (see 'qmpkit start --help')\n`);
    return EXIT_CODES.usage;
  }
  const qemuVersion = p.string('qemu-version');
  if (address !== undefined) {
    if (qemuVersion !== undefined) {
      io.stderr.write('qmpkit start: --qemu-version is for the simulator, not for ADDRESS\n');
      return EXIT_CODES.usage;
    }
    return new ShellRepl({
      ...shellReplOptions(p, io, address, () => connectQmp(address)),
      reconnect: false,
    }).run();
  }
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-sim-'));
  const socket = join(dir, 'qmp.sock');
  const spare = join(dir, 'qmp-2.sock');
  let sim: QmpSimulator | undefined;
  try {
    sim = await startSimulator({
      qmp: [`unix:${socket},server=on,wait=off`, `unix:${spare},server=on,wait=off`],
      stderr: io.stderr,
      ...(qemuVersion !== undefined && isQemuRelease(qemuVersion) ? { qemuVersion } : {}),
    });
    io.stderr.write(`Simulated QEMU on unix:${socket} (this shell)\n`);
    io.stderr.write(`A second monitor for another terminal: npx qmp-shell ${spare}\n`);
    io.stderr.write(
      'Try: query-status, stop, cont, query-block, eject device=ide1-cd0. Tab completes. Ctrl-D exits.\n\n',
    );
    return await new ShellRepl(shellReplOptions(p, io, socket, () => connectQmp(socket))).run();
  } catch (err) {
    io.stderr.write(`qmpkit start: ${err instanceof Error ? err.message : String(err)}\n`);
    return exitCodeFor(err);
  } finally {
    await sim?.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
