import { QmpError } from '../../errors/index.js';
import { parseSimArgs, type SimConfig, startSimulator } from '../../simulator/index.js';
import type { CliIo } from '../cli-io.js';
import { EXIT_CODES, exitCodeFor } from '../exit-codes.js';

const HELP = `usage: qmpkit sim [QEMU options]

A simulated QEMU 7.2 x86_64 that speaks QMP exactly as QEMU does, for trying QMP and testing QMP
tools without a VM. Its command line is QEMU's own:

  -qmp ADDR                 a QMP monitor (repeatable): unix:PATH,server=on,wait=off,
                            tcp:HOST:PORT,server=on,wait=off (also server,nowait), or stdio
  -qmp-pretty ADDR          the same with pretty=on output
  -chardev socket,id=ID,path=PATH|host=H,port=P,server=on,wait=off
  -mon chardev=ID,mode=control[,pretty=on]
  -readconfig FILE          QEMU's config file ([chardev "qmp"] and [mon "qmp"] sections, [drive], [device])
  -name NAME  -uuid UUID  -S (start paused)  -no-shutdown
  -machine pc|q35|none      (default pc; its default cd-rom is ide1-cd0, q35's ide2-cd0; -nodefaults drops it)
  -drive if=none|ide,id=ID,media=cdrom|disk[,file=F,format=raw,readonly=on]
  -device ide-cd|ide-hd|scsi-cd|e1000|virtio-net-pci|qemu-xhci|usb-kbd|...,id=ID[,drive=ID,bus=BUS]
  -device virtio-serial -device virtserialport,chardev=ID,name=org.qemu.guest_agent.0
                            a simulated guest agent on chardev ID (qmpkit ga, qmpkit ga-shell)
Simulator-only options:
  -sim-version X.Y.Z        version to report (default 7.2.22)
  -sim-package STR          package string to report (default "")
  -sim-guest                a cooperating guest: acknowledges PCI unplug, shuts down on system_powerdown
  -sim-debug-commands       add the x-sim-inject-io-error command (BLOCK_IO_ERROR on demand)
  -sim-qga-fault F[,F...]   guest agent faults: not-running, stale (stale bytes for each new client),
                            slow=MS (every reply held MS ms)
  -sim-qga-block CMD[,...]  guest agent commands disabled, as qemu-ga's -b
Accepted and ignored: -nodefaults is honoured; -display, -m, -accel, -smp, -cpu, -nographic,
-enable-kvm and similar change nothing the simulator shows.

It needs at least one monitor (-qmp, -mon or -readconfig; exit 2 without). It runs until 'quit'
(exit 0) or SIGINT/SIGTERM/SIGHUP (exit 130). Differences from QEMU: docs/simulator.md.
`;

/** `qmpkit sim`: runs the simulated QEMU until `quit` or a signal. */
export async function runSim(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help') || argv.includes('-help')) {
    io.stdout.write(HELP);
    return EXIT_CODES.ok;
  }
  let config: SimConfig;
  try {
    config = parseSimArgs(argv);
  } catch (err) {
    io.stderr.write(`qmpkit sim: ${err instanceof Error ? err.message : String(err)}\n`);
    return err instanceof QmpError && err.code === 'QMP_ERR_USAGE' ? EXIT_CODES.usage : exitCodeFor(err);
  }
  if (config.monitors.length === 0) {
    io.stderr.write(
      "qmpkit sim: no monitor: give -qmp unix:PATH,server=on,wait=off (or tcp:HOST:PORT,..., -mon, -readconfig); see 'qmpkit sim --help'\n",
    );
    return EXIT_CODES.usage;
  }
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  try {
    sim = await startSimulator({ argv, stderr: io.stderr });
  } catch (err) {
    io.stderr.write(`qmpkit sim: ${err instanceof Error ? err.message : String(err)}\n`);
    return err instanceof QmpError && err.code === 'QMP_ERR_USAGE' ? EXIT_CODES.usage : exitCodeFor(err);
  }
  let interrupted = false;
  const onSignal = (): void => {
    interrupted = true;
    void sim.close();
  };
  if (io.signal?.aborted) onSignal();
  io.signal?.addEventListener('abort', onSignal, { once: true });
  await sim.exited;
  io.signal?.removeEventListener('abort', onSignal);
  return interrupted ? EXIT_CODES.interrupted : EXIT_CODES.ok;
}
