import { QmpError } from '../../errors/index.js';
import { isQemuRelease, QEMU_RELEASES, type QemuRelease } from '../../schema/index.js';
import { parseSimArgs, type SimConfig, startSimulator } from '../../simulator/index.js';
import type { CliIo } from '../cli-io.js';
import { EXIT_CODES, exitCodeFor } from '../exit-codes.js';

const HELP = `usage: qmpkit sim [--qemu-version X.Y] [QEMU options]

A simulated QEMU x86_64 that speaks QMP exactly as QEMU does, for trying QMP and testing QMP
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
  -device ide-cd|ide-hd|scsi-cd|e1000|virtio-net-pci|qemu-xhci|usb-kbd|...,id=ID[,drive=ID,bus=BUS,addr=SLOT]
  -netdev user|tap|socket|hubport,id=ID[,...]   a NIC's netdev= backend (recorded, never opened)
  -device virtio-serial -device virtserialport,chardev=ID,name=org.qemu.guest_agent.0
                            a simulated guest agent on chardev ID (qmpkit ga, qmpkit ga-shell)
Simulator-only options:
  --qemu-version X.Y        the QEMU release to play: ${QEMU_RELEASES.join(', ')} (default 7.2): its
                            version, schema, query-commands; commands it lacks are not found
  -sim-version X.Y.Z        version to report (default 7.2.22)
  -sim-package STR          package string to report (default "")
  -sim-guest                a cooperating guest: acknowledges PCI unplug, shuts down on system_powerdown
  -sim-debug-commands       add the x-sim-inject-io-error command (BLOCK_IO_ERROR on demand)
  -sim-fault SPEC           inject a fault (repeatable): io-error,device=ID[,operation=read|write]
                            [,action=ignore|report|stop][,nospace=on][,after=MS]; job-fail[,error=TEXT];
                            migration-fail[,error=TEXT]; crash[,after=MS|,command=NAME];
                            slow,command=NAME,ms=N
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
  let qemuVersion: QemuRelease | undefined;
  const qemuArgv: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a !== '--qemu-version' && !a.startsWith('--qemu-version=')) {
      qemuArgv.push(a);
      continue;
    }
    const v = a === '--qemu-version' ? argv[++i] : a.slice('--qemu-version='.length);
    if (v === undefined || !isQemuRelease(v)) {
      io.stderr.write(
        `qmpkit sim: --qemu-version ${v ?? ''}: not a bundled release (the simulator plays ${QEMU_RELEASES.join(', ')})\n`,
      );
      return EXIT_CODES.usage;
    }
    qemuVersion = v;
  }
  let config: SimConfig;
  try {
    config = parseSimArgs(qemuArgv);
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
    sim = await startSimulator({
      argv: qemuArgv,
      stderr: io.stderr,
      ...(qemuVersion === undefined ? {} : { qemuVersion }),
    });
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
