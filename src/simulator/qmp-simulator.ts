import { QmpCommandError } from '../errors/qmp-command-error.js';
import { QmpUsageError } from '../errors/qmp-error.js';
import { loadQgaSchema, type QapiSchema, type QemuRelease } from '../schema/index.js';
import { type QmpMonitor, QmpServer } from '../server/index.js';
import { isThenable } from '../server/is-thenable.js';
import { RawJson } from '../wire/q-value.js';
import { buildMachine } from './build-machine.js';
import { SimRunStateMachine } from './run-state.js';
import { orderBySchema } from './schema-order.js';
import { SimBlock } from './sim-block.js';
import type { SimArgs, SimMachine, SimRegister } from './sim-commands.js';
import { registerBitmapCommands } from './sim-commands-bitmaps.js';
import { registerBlockCommands } from './sim-commands-block.js';
import { registerFdCommands } from './sim-commands-fds.js';
import { checkNodeNotInJob, registerJobCommands } from './sim-commands-jobs.js';
import { registerMachineCommands } from './sim-commands-machine.js';
import { DEFAULT_MIGRATION_PARAMETERS, registerMiscCommands } from './sim-commands-misc.js';
import { registerNetCommands } from './sim-commands-net.js';
import { registerQdevCommands } from './sim-commands-qdev.js';
import { registerTransactionCommand } from './sim-commands-transaction.js';
import { registerYankCommands } from './sim-commands-yank.js';
import { parseSimArgs, type SimConfig } from './sim-config.js';
import { SimDevices } from './sim-devices.js';
import { SimFaults, type SimIoError } from './sim-faults.js';
import { SimFds } from './sim-fds.js';
import { SimGuestAgent } from './sim-guest-agent.js';
import { SimJobs } from './sim-jobs.js';
import { registerMigrationCommands, SimMigration } from './sim-migration.js';
import { DEFAULT_SIM_RELEASE, fitToSchema, loadSimRelease, type SimRelease } from './sim-release.js';

export type { SimIoError } from './sim-faults.js';

/** Options of {@link QmpSimulator.start}. */
export interface SimulatorOptions {
  /** QEMU-style command line (`-qmp unix:/tmp/s,server=on,wait=off -S -name vm1 ...`). */
  argv?: readonly string[];
  /** Shorthand for `-qmp ADDR` monitors, added to `argv`'s. */
  qmp?: readonly string[];
  /** Called when the simulated QEMU exits (`quit`, or a guest shutdown without `-no-shutdown`). */
  onExit?: (reason: string) => void;
  /** Where `QEMU waiting for connection on: ...` goes (default process.stderr). */
  stderr?: NodeJS.WritableStream;
  /**
   * The QEMU release to play (default `'7.2'`): its greeting and `query-version` (the recorded ones,
   * unless `-sim-version`/`-sim-package` say otherwise), `query-qmp-schema`, `query-commands`, which
   * commands exist and how their arguments are checked. Any other name than `QEMU_RELEASES` is a
   * `QmpUsageError`.
   */
  qemuVersion?: QemuRelease;
}

/**
 * A simulated QEMU x86_64 (7.2 unless `qemuVersion` names another bundled release) on the QMP server framework: run states, block devices with trays and
 * media, devices and QOM, objects, an HMP subset, migration parameters, and QEMU's exact replies.
 */
export class QmpSimulator {
  readonly config: SimConfig;
  readonly server: QmpServer;
  readonly schema: QapiSchema;
  /** The QEMU release played. */
  readonly release: SimRelease;
  readonly block: SimBlock;
  /** Descriptors clients passed (`getfd`, `add-fd`). */
  readonly fds: SimFds;
  readonly devices: SimDevices;
  readonly runstate: SimRunStateMachine;
  readonly monitors: QmpMonitor[] = [];
  /** Block jobs (mirror, backup, commit, stream) and their job-* verbs. */
  readonly jobs: SimJobs;
  /** Fault injection for tests: I/O errors, failing jobs and migrations, crashes, slow commands. */
  readonly faults: SimFaults;
  #migrationState!: SimMigration;
  readonly #handlers = new Map<string, (args: SimArgs, ctx: Parameters<Parameters<SimRegister>[1]>[1]) => unknown>();
  /** The simulated guest agent, when the command line gives the VM an `org.qemu.guest_agent.0` port. */
  guestAgent: SimGuestAgent | undefined;
  readonly #migration: Record<string, unknown> = { ...DEFAULT_MIGRATION_PARAMETERS };
  readonly #onExit: ((reason: string) => void) | undefined;
  #exited = false;
  #resolveExit!: (reason: string) => void;
  /** Resolves with the reason when the simulated QEMU exits (`quit`, guest shutdown). */
  readonly exited: Promise<string>;

  private constructor(config: SimConfig, options: SimulatorOptions) {
    this.config = config;
    this.#onExit = options.onExit;
    this.exited = new Promise((r) => {
      this.#resolveExit = r;
    });
    this.release = loadSimRelease(options.qemuVersion ?? DEFAULT_SIM_RELEASE);
    this.schema = this.release.schema;
    if (options.qemuVersion !== undefined) {
      const argv = options.argv ?? [];
      const v = this.release.version;
      if (!argv.includes('-sim-version'))
        config.version = { major: v.qemu.major, minor: v.qemu.minor, micro: v.qemu.micro };
      if (!argv.includes('-sim-package')) config.package = v.package;
    }
    this.server = new QmpServer({
      version: { qemu: config.version, package: config.package },
      schema: this.schema,
    });
    this.runstate = new SimRunStateMachine('prelaunch');
    this.fds = new SimFds(() => this.runstate.running);
    this.block = new SimBlock((event, data) => this.emit(event, data), this.fds);
    this.devices = new SimDevices(config.machine);
    this.jobs = new SimJobs((event, data) => this.emit(event, data));
    buildMachine(this.config, this.block, this.devices);
    this.#register();
    this.faults = new SimFaults({
      ioError: (e) => this.injectIoError(e),
      failNextJob: (error) => {
        this.jobs.failNext = error;
      },
      failNextMigration: (error) => {
        this.#migrationState.failNext = error;
      },
      crash: () => {
        void this.server.close().then(() => this.#exit('crashed'));
      },
      wrapCommand: (name, wrap) => {
        const original = this.#handlers.get(name);
        if (!original) throw new QmpUsageError(`the simulator has no command '${name}'`);
        this.server.register(name, (args, ctx) => wrap(async () => original(args as SimArgs, ctx)) as never);
      },
    });
  }

  /** Starts a simulated QEMU: parses the command line, builds the machine, opens its monitors. */
  static async start(options: SimulatorOptions = {}): Promise<QmpSimulator> {
    const argv = [...(options.argv ?? [])];
    for (const q of options.qmp ?? []) argv.push('-qmp', q);
    const config = parseSimArgs(argv);
    const sim = new QmpSimulator(config, options);
    const stderr = options.stderr ?? process.stderr;
    try {
      // QEMU creates chardevs before it waits for a monitor client.
      if (config.guestAgent !== undefined) await sim.#startGuestAgent(config.guestAgent.address);
      for (const m of config.monitors) {
        const mon = await sim.server.listen(m.address, { pretty: m.pretty, label: m.label });
        sim.monitors.push(mon);
        // QEMU's fd sets drop unused descriptors when the last monitor client leaves.
        mon.on('session', (session) => session.once('close', () => sim.fds.clientClosed(sim.server.sessions.length)));
        if (m.wait) {
          stderr.write(`QEMU waiting for connection on: disconnected:${m.address.replace(',wait=off', '')}\n`);
          await mon.waitForClient();
        }
      }
    } catch (err) {
      await sim.guestAgent?.close();
      await sim.server.close();
      throw err;
    }
    // Like QEMU: the machine starts running once it is ready, unless -S.
    if (!config.paused) sim.runstate.set('running');
    for (const f of config.faults) sim.faults.apply(f);
    return sim;
  }

  async #startGuestAgent(address: string): Promise<void> {
    const agent = new SimGuestAgent(
      loadQgaSchema(),
      {
        hostName: this.config.name ?? 'sim',
        version: `${this.config.version.major}.${this.config.version.minor}.${this.config.version.micro}`,
        shutdown: (mode) => {
          if (mode === 'reboot') this.emit('RESET', { guest: true, reason: 'guest-reset' });
          else this.#guestShutdown();
        },
      },
      () => this.runstate.running,
    );
    this.guestAgent = agent;
    if (this.config.guestAgentFaults !== undefined) agent.setFaults(this.config.guestAgentFaults);
    this.runstate.onChange(() => agent.refresh());
    await agent.listen(address);
  }

  /** Emits an event with its data in QEMU's member order. */
  emit(event: string, data?: Record<string, unknown>): void {
    const ev = this.schema.event(event);
    const ordered =
      data === undefined ? undefined : (orderBySchema(this.schema, ev?.argType, data) as Record<string, unknown>);
    if (ordered === undefined) this.server.emit(event);
    else this.server.emit(event, ordered as never);
  }

  /**
   * Simulates a guest I/O error on drive `device`: emits BLOCK_IO_ERROR and applies the action
   * (`stop` pauses the VM in run state `io-error`, with a STOP event; `cont` resumes it).
   */
  injectIoError(e: SimIoError): void {
    const b = this.block.backends.find((x) => x.name === e.device);
    if (!b) throw new QmpCommandError('DeviceNotFound', `Device '${e.device}' not found`);
    const action = e.action ?? 'report';
    const data: Record<string, unknown> = {
      device: b.name,
      'node-name': b.medium?.nodeName,
      operation: e.operation ?? 'write',
      action,
      nospace: e.nospace,
      reason: e.reason ?? (e.nospace ? 'No space left on device' : 'Input/output error'),
    };
    if (action !== 'ignore') b.ioStatus = e.nospace ? 'nospace' : 'failed';
    this.emit('BLOCK_IO_ERROR', data);
    if (action === 'stop' && this.runstate.running) {
      this.runstate.set('io-error');
      this.emit('STOP');
    }
  }

  /** Closes every monitor and connection. */
  async close(): Promise<void> {
    this.faults.close();
    this.jobs.close();
    this.#migrationState.close();
    await this.guestAgent?.close();
    await this.server.close();
    this.#exit('closed');
  }

  #exit(reason: string): void {
    if (this.#exited) return;
    this.#exited = true;
    this.fds.close();
    this.#resolveExit(reason);
    this.#onExit?.(reason);
  }

  #status(): Record<string, unknown> {
    return { running: this.runstate.running, singlestep: false, status: this.runstate.state };
  }

  #stop(): void {
    if (this.runstate.state === 'inmigrate' || !this.runstate.running) return;
    this.runstate.set('paused');
    this.emit('STOP');
  }

  #cont(): void {
    const rs = this.runstate;
    if (rs.needsReset) throw new QmpCommandError('GenericError', 'Resetting the Virtual Machine is required');
    if (rs.state === 'finish-migrate') throw new QmpCommandError('GenericError', 'Migration is not finalized yet');
    if (rs.state === 'suspended' || rs.running) return;
    for (const b of this.block.backends) b.ioStatus = 'ok';
    rs.set('running');
    this.emit('RESUME');
  }

  #reset(): void {
    this.emit('RESET', { guest: false, reason: 'host-qmp-system-reset' });
    if (!this.runstate.running) this.runstate.set('prelaunch');
    // A reset completes the PCI unplugs still waiting for the guest. QEMU reports them gone some
    // milliseconds after the reset's reply; the simulator right after it, so a test need not wait.
    const pending = this.devices.pendingUnplugs();
    if (pending.length === 0) return;
    setImmediate(() => {
      for (const d of pending) this.#deleted(d);
    });
  }

  #powerdown(): void {
    this.emit('POWERDOWN');
    if (this.config.guest && this.runstate.running) {
      // A cooperating guest shuts down when the power button is pressed.
      setTimeout(() => this.#guestShutdown(), 50).unref();
    }
  }

  #guestShutdown(): void {
    if (this.#exited) return;
    this.emit('SHUTDOWN', { guest: true, reason: 'guest-shutdown' });
    if (this.config.noShutdown) {
      this.runstate.set('shutdown');
      this.emit('STOP');
      return;
    }
    void Promise.all([this.server.close(), this.guestAgent?.close()]).then(() => this.#exit('guest-shutdown'));
  }

  #register(): void {
    const s = this.server;
    const schema = this.schema;
    const c = this.config;
    // Handlers are written once, for 7.2: on another release a command it lacks stays unregistered
    // (QEMU's CommandNotFound), and results lose members it does not have.
    const otherRelease = this.release.name !== DEFAULT_SIM_RELEASE;
    const reg: SimRegister = (name, fn, options = {}) => {
      const command = schema.command(name);
      if (command === undefined && otherRelease) return;
      const retType = command?.retType;
      const shape = (r: unknown): unknown => {
        if (r instanceof RawJson) return r;
        return orderBySchema(schema, retType, otherRelease ? fitToSchema(schema, retType, r ?? {}) : (r ?? {}));
      };
      // A handler that answers at once is not turned into a promise: the server then writes the
      // replies to requests read together in one go, as QEMU answers them one after another.
      const handler = (args: SimArgs, ctx: Parameters<typeof fn>[1]): unknown => {
        const r = fn(args, ctx);
        return isThenable(r) ? Promise.resolve(r).then(shape) : shape(r);
      };
      this.#handlers.set(name, handler);
      s.register(name, (args, ctx) => handler(args as SimArgs, ctx) as never, options);
    };

    // Commands of the 7.2 schema the simulator does not model answer with an error naming that,
    // after QEMU's own argument checks; query-commands still lists all of QEMU's commands.
    for (const name of schema.commandNames()) {
      if (name === 'qmp_capabilities') continue;
      s.register(name, () => {
        throw new QmpCommandError('GenericError', `The simulated QEMU (qmpkit sim) does not implement ${name}`);
      });
    }

    const sim: SimMachine = {
      config: c,
      release: this.release,
      server: s,
      schema,
      block: this.block,
      fds: this.fds,
      devices: this.devices,
      runstate: this.runstate,
      monitors: this.monitors,
      migration: this.#migration,
      emit: (event, data) => this.emit(event, data),
      status: () => this.#status(),
      stop: () => this.#stop(),
      cont: () => this.#cont(),
      reset: () => this.#reset(),
      powerdown: () => this.#powerdown(),
      exit: (reason) => this.#exit(reason),
      deleted: (dev) => this.#deleted(dev),
    };
    registerMachineCommands(reg, sim);
    registerBlockCommands(reg, sim);
    registerQdevCommands(reg, sim);
    registerMiscCommands(reg, sim);
    registerJobCommands(reg, sim, this.jobs);
    registerBitmapCommands(reg, sim);
    registerTransactionCommand(reg, sim, (name) => this.#handlers.get(name));
    const blockdevDel = this.#handlers.get('blockdev-del');
    reg('blockdev-del', (a, ctx) => {
      checkNodeNotInJob(this.jobs, String(a['node-name']));
      return blockdevDel?.(a, ctx);
    });
    this.#migrationState = new SimMigration(sim);
    registerMigrationCommands(reg, sim, this.#migrationState);
    registerNetCommands(reg, sim);
    registerYankCommands(reg, sim);
    registerFdCommands(reg, sim);

    if (c.debugCommands) {
      // Not in QEMU: lets tool tests trigger BLOCK_IO_ERROR over QMP. Registered only on request.
      s.register('x-sim-inject-io-error', (a) => {
        const args = a as SimArgs;
        this.injectIoError({
          device: String(args['device']),
          ...(args['operation'] === 'read' ? { operation: 'read' as const } : {}),
          ...(typeof args['action'] === 'string' ? { action: args['action'] as 'ignore' | 'report' | 'stop' } : {}),
          ...(args['nospace'] === true ? { nospace: true } : {}),
        });
        return {};
      });
    }
  }

  #deleted(dev: ReturnType<SimDevices['find']> & object): void {
    for (const gone of this.devices.remove(dev)) {
      // A node the device held as its drive is free again.
      for (const n of this.block.nodes.values()) if (n.usedBy === gone.path) n.usedBy = undefined;
      this.emit('DEVICE_DELETED', { device: gone.id, path: gone.path });
    }
  }
}

/** Starts a simulated QEMU: see {@link QmpSimulator.start}. */
export function startSimulator(options: SimulatorOptions = {}): Promise<QmpSimulator> {
  return QmpSimulator.start(options);
}
