import { readFileSync } from 'node:fs';
import { QmpCommandError } from '../errors/qmp-command-error.js';
import { QmpUsageError } from '../errors/qmp-error.js';
import { loadQemu72Schema, type QapiSchema } from '../schema/index.js';
import { type QmpCommandContext, type QmpMonitor, QmpServer } from '../server/index.js';
import { RawJson } from '../wire/q-value.js';
import { SimRunStateMachine } from './run-state.js';
import { orderBySchema } from './schema-order.js';
import { SimBlock, type SimBlockBackend } from './sim-block.js';
import { parseSimArgs, type SimConfig } from './sim-config.js';
import { SimDevices } from './sim-devices.js';
import { runHmp } from './sim-hmp.js';

const ROOT = new URL('../../../', import.meta.url);

/** The `return` array of a data file holding a QMP reply (`{"return": [...]}`), as raw text. */
function replyArrayText(file: string): string {
  const text = readFileSync(new URL(`data/${file}`, ROOT), 'utf8').trim();
  const m = /^\{"return": ([\s\S]*)\}$/.exec(text);
  return m?.[1] ?? text;
}

/** Migration parameters of a fresh QEMU 7.2 (query-migrate-parameters). */
const DEFAULT_MIGRATION_PARAMETERS: Record<string, unknown> = {
  'announce-initial': 50,
  'announce-max': 550,
  'announce-rounds': 5,
  'announce-step': 100,
  'compress-level': 1,
  'compress-threads': 8,
  'compress-wait-thread': true,
  'decompress-threads': 2,
  'throttle-trigger-threshold': 50,
  'cpu-throttle-initial': 20,
  'cpu-throttle-increment': 10,
  'cpu-throttle-tailslow': false,
  'tls-creds': '',
  'tls-hostname': '',
  'tls-authz': '',
  'max-bandwidth': 134217728,
  'downtime-limit': 300,
  'x-checkpoint-delay': 20000,
  'block-incremental': false,
  'multifd-channels': 2,
  'xbzrle-cache-size': 67108864,
  'max-postcopy-bandwidth': 0,
  'max-cpu-throttle': 99,
  'multifd-compression': 'none',
  'multifd-zlib-level': 1,
  'multifd-zstd-level': 1,
};

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
}

/** What `injectIoError` takes: like QEMU's BLOCK_IO_ERROR. */
export interface SimIoError {
  /** Backend name (`device`) of the drive. */
  device: string;
  operation?: 'read' | 'write';
  /** What the drive's error policy does: `stop` pauses the VM (run state `io-error`). */
  action?: 'ignore' | 'report' | 'stop';
  nospace?: boolean;
  reason?: string;
}

/**
 * A simulated QEMU 7.2 x86_64 on the QMP server framework: run states, block devices with trays and
 * media, devices and QOM, objects, an HMP subset, migration parameters, and QEMU's exact replies.
 */
export class QmpSimulator {
  readonly config: SimConfig;
  readonly server: QmpServer;
  readonly schema: QapiSchema;
  readonly block: SimBlock;
  readonly devices: SimDevices;
  readonly runstate: SimRunStateMachine;
  readonly monitors: QmpMonitor[] = [];
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
    this.schema = loadQemu72Schema();
    this.server = new QmpServer({
      version: { qemu: config.version, package: config.package },
      schema: this.schema,
    });
    this.block = new SimBlock((event, data) => this.emit(event, data));
    this.devices = new SimDevices(config.machine);
    this.runstate = new SimRunStateMachine('prelaunch');
    this.#buildMachine();
    this.#register();
  }

  /** Starts a simulated QEMU: parses the command line, builds the machine, opens its monitors. */
  static async start(options: SimulatorOptions = {}): Promise<QmpSimulator> {
    const argv = [...(options.argv ?? [])];
    for (const q of options.qmp ?? []) argv.push('-qmp', q);
    const config = parseSimArgs(argv);
    const sim = new QmpSimulator(config, options);
    const stderr = options.stderr ?? process.stderr;
    try {
      for (const m of config.monitors) {
        const mon = await sim.server.listen(m.address, { pretty: m.pretty, label: m.label });
        sim.monitors.push(mon);
        if (m.wait) {
          stderr.write(`QEMU waiting for connection on: disconnected:${m.address.replace(',wait=off', '')}\n`);
          await mon.waitForClient();
        }
      }
    } catch (err) {
      await sim.server.close();
      throw err;
    }
    // Like QEMU: the machine starts running once it is ready, unless -S.
    if (!config.paused) sim.runstate.set('running');
    return sim;
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
    await this.server.close();
    this.#exit('closed');
  }

  #exit(reason: string): void {
    if (this.#exited) return;
    this.#exited = true;
    this.#resolveExit(reason);
    this.#onExit?.(reason);
  }

  #buildMachine(): void {
    const c = this.config;
    if (!c.nodefaults && c.machine !== 'none' && !c.drives.some((d) => d.media === 'cdrom' && d.interface === 'ide')) {
      // QEMU's default machines have an IDE cd-rom: ide1-cd0 on pc (the classic `eject` example),
      // ide2-cd0 on q35, whose AHCI controller names its ports differently.
      c.drives.push({
        id: c.machine === 'q35' ? 'ide2-cd0' : 'ide1-cd0',
        media: 'cdrom',
        file: undefined,
        format: undefined,
        readonly: true,
        interface: 'ide',
      });
    }
    // Where QEMU 7.2 puts the first IDE drive's device among /machine/unattached (pc: device[23],
    // q35: device[18]), so the QOM path in DEVICE_TRAY_MOVED and query-block is QEMU's.
    let unattached = c.machine === 'q35' ? 18 : 23;
    for (const d of c.drives) {
      const backend: SimBlockBackend = {
        name: d.id,
        qdev: undefined,
        removable: d.media === 'cdrom',
        locked: false,
        trayOpen: false,
        medium: undefined,
        ioStatus: 'ok',
      };
      if (d.file !== undefined) {
        try {
          backend.medium = this.block.openImage(d.file, d.format, d.readonly);
          backend.medium.usedBy = d.id;
        } catch (err) {
          throw new QmpUsageError(
            `-drive id=${d.id},file=${d.file}: ${err instanceof QmpCommandError ? err.desc : String(err)}`,
          );
        }
      }
      if (d.interface === 'ide') {
        if (c.machine === 'none') throw new QmpUsageError(`-drive id=${d.id}: machine type does not support if=ide`);
        backend.qdev = `/machine/unattached/device[${unattached++}]`;
      }
      this.block.backends.push(backend);
    }
    for (const d of c.devices) {
      let dev: ReturnType<SimDevices['add']>;
      try {
        dev = this.devices.add(d.driver, d.props, true);
      } catch (err) {
        throw new QmpUsageError(`-device ${d.driver}: ${err instanceof QmpCommandError ? err.desc : String(err)}`);
      }
      const drive = d.props['drive'];
      if (drive !== undefined) {
        const b = this.block.backends.find((x) => x.name === drive);
        if (!b)
          throw new QmpUsageError(
            `-device ${d.driver},drive=${drive}: Property '${d.driver}.drive' can't find value '${drive}'`,
          );
        b.qdev = dev.id ?? dev.path;
        if (d.driver === 'ide-cd' || d.driver === 'scsi-cd') b.removable = true;
      }
    }
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
    void this.server.close().then(() => this.#exit('guest-shutdown'));
  }

  #register(): void {
    const s = this.server;
    const schema = this.schema;
    const c = this.config;
    type Args = Record<string, unknown>;
    const reg = (
      name: string,
      fn: (args: Args, ctx: QmpCommandContext) => unknown,
      options: { allowOob?: boolean } = {},
    ): void => {
      const retType = schema.command(name)?.retType;
      s.register(
        name,
        async (args, ctx) => {
          const r = await fn(args as Args, ctx);
          return (r instanceof RawJson ? r : orderBySchema(schema, retType, r ?? {})) as never;
        },
        options,
      );
    };
    const schemaText = new RawJson(replyArrayText('qmp-schema-7.2.json'));
    const commandsText = new RawJson(replyArrayText('query-commands-7.2.json'));
    const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

    // Commands of the 7.2 schema the simulator does not model answer with an error naming that,
    // after QEMU's own argument checks; query-commands still lists all of QEMU's commands.
    for (const name of schema.commandNames()) {
      if (name === 'qmp_capabilities') continue;
      s.register(name, () => {
        throw new QmpCommandError('GenericError', `The simulated QEMU (qmpkit sim) does not implement ${name}`);
      });
    }

    reg('query-version', () => ({ qemu: { ...c.version }, package: c.package }));
    reg('query-commands', () => commandsText);
    reg('query-qmp-schema', () => schemaText);
    reg('query-name', () => (c.name === undefined ? {} : { name: c.name }));
    reg('query-uuid', () => ({ UUID: c.uuid ?? '00000000-0000-0000-0000-000000000000' }));
    reg('query-kvm', () => ({ enabled: false, present: true }));
    reg('query-target', () => ({ arch: 'x86_64' }));
    reg('query-status', () => this.#status());
    reg('query-machines', () => [
      {
        name: 'pc-i440fx-7.2',
        alias: 'pc',
        'is-default': true,
        'cpu-max': 255,
        'hotpluggable-cpus': true,
        'numa-mem-supported': false,
        deprecated: false,
        'default-cpu-type': 'qemu64-x86_64-cpu',
        'default-ram-id': 'pc.ram',
      },
      {
        name: 'pc-q35-7.2',
        alias: 'q35',
        'cpu-max': 288,
        'hotpluggable-cpus': true,
        'numa-mem-supported': false,
        deprecated: false,
        'default-cpu-type': 'qemu64-x86_64-cpu',
        'default-ram-id': 'pc.ram',
      },
      { name: 'none', 'cpu-max': 1, 'hotpluggable-cpus': false, 'numa-mem-supported': false, deprecated: false },
    ]);
    reg('query-cpus-fast', () =>
      c.machine === 'none'
        ? []
        : [
            {
              'cpu-index': 0,
              'qom-path': '/machine/unattached/device[0]',
              'thread-id': process.pid,
              props: { 'socket-id': 0, 'core-id': 0, 'thread-id': 0 },
              target: 'x86_64',
            },
          ],
    );
    reg('query-chardev', () =>
      c.monitors.map((m, i) => {
        const connected = this.monitors[i]?.session !== undefined;
        const where = m.address === 'stdio' ? 'stdio' : m.address.replace(',wait=off', '');
        return {
          label: m.label,
          filename: connected || m.address === 'stdio' ? where : `disconnected:${where}`,
          'frontend-open': true,
        };
      }),
    );

    reg('stop', () => this.#stop());
    reg('cont', () => this.#cont());
    reg('system_reset', () => this.#reset());
    reg('system_powerdown', () => this.#powerdown());
    reg('system_wakeup', () => {
      if (c.machine === 'none')
        throw new QmpCommandError('GenericError', 'wake-up from suspend is not supported by this guest');
      if (this.runstate.state !== 'suspended')
        throw new QmpCommandError('GenericError', 'Unable to wake up: guest is not in suspended state');
      this.runstate.set('running');
      this.emit('WAKEUP');
    });
    reg('quit', (_a, ctx) => {
      this.emit('SHUTDOWN', { guest: false, reason: 'host-qmp-quit' });
      // QEMU exits after the reply; so do we.
      ctx.afterReply(() => {
        void this.server.close().then(() => this.#exit('quit'));
      });
    });

    reg('query-block', () => this.block.queryBlock());
    reg('query-named-block-nodes', () => [...this.block.nodes.values()].reverse().map((n) => this.block.nodeInfo(n)));
    reg('eject', (a) => this.block.eject({ device: str(a['device']), id: str(a['id']), force: a['force'] === true }));
    reg('blockdev-open-tray', (a) => {
      const args = { device: str(a['device']), id: str(a['id']) };
      this.block.openTray(this.block.find(args), args, a['force'] === true);
    });
    reg('blockdev-close-tray', (a) => this.block.closeTray({ device: str(a['device']), id: str(a['id']) }));
    reg('blockdev-remove-medium', (a) => this.block.removeMedium(String(a['id'])));
    reg('blockdev-insert-medium', (a) => this.block.insertMedium(String(a['id']), String(a['node-name'])));
    reg('blockdev-change-medium', (a) =>
      this.block.changeMedium({
        device: str(a['device']),
        id: str(a['id']),
        filename: String(a['filename']),
        format: str(a['format']),
        force: a['force'] === true,
        'read-only-mode': str(a['read-only-mode']),
      }),
    );
    reg('blockdev-add', (a) => this.block.add(a));
    reg('blockdev-del', (a) => this.block.del(String(a['node-name'])));

    reg('device_add', (a) => {
      const driver = a['driver'];
      if (typeof driver !== 'string') throw new QmpCommandError('GenericError', "Parameter 'driver' is missing");
      this.devices.add(driver, a, false);
    });
    reg('device_del', (a, ctx) => {
      const id = String(a['id']);
      const dev = this.devices.find(id);
      if (!dev) throw new QmpCommandError('DeviceNotFound', `Device '${id}' not found`);
      if (this.devices.needsGuest(dev)) {
        // PCI unplug needs the guest's acknowledgement: without a guest it never completes (QEMU 7.2
        // answers {} again on a repeated request); -sim-guest simulates a guest that acknowledges.
        if (!c.guest || dev.unplugPending) {
          dev.unplugPending = true;
          return;
        }
        dev.unplugPending = true;
        setTimeout(() => this.#deleted(dev), 20).unref();
        return;
      }
      // QEMU finishes a USB unplug a main-loop turn after the reply: the event follows it.
      // QEMU removes a USB device at once (a second device_del finds nothing) and emits DEVICE_DELETED
      // from an RCU callback some milliseconds later, so where it lands among later replies is
      // timing; the simulator sends it right after the reply, as the golden transcript shows.
      ctx.afterReply(() => {
        this.devices.remove(dev);
        this.emit('DEVICE_DELETED', { device: dev.id, path: dev.path });
      });
    });
    reg('qom-list', (a) => this.devices.qomList(String(a['path'])));
    reg('qom-get', (a) => this.devices.qomGet(String(a['path']), String(a['property'])));
    reg('object-add', (a) => {
      const { 'qom-type': t, id, ...props } = a;
      this.devices.objectAdd(String(t), String(id), props);
    });
    reg('object-del', (a) => this.devices.objectDel(String(a['id'])));

    reg('human-monitor-command', (a) =>
      runHmp(
        {
          status: () => ({ running: this.runstate.running, state: this.runstate.state }),
          version: () => `${c.version.major}.${c.version.minor}.${c.version.micro}${c.package}`,
          name: () => c.name,
          uuid: () => c.uuid ?? '00000000-0000-0000-0000-000000000000',
          infoBlock: () => this.block.infoBlock(),
          stop: () => this.#stop(),
          cont: () => this.#cont(),
          reset: () => this.#reset(),
          powerdown: () => this.#powerdown(),
        },
        String(a['command-line']),
      ),
    );

    reg('query-migrate-parameters', () => ({ ...this.#migration }));
    reg('migrate-set-parameters', (a) => {
      for (const [k, v] of Object.entries(a)) if (v !== undefined) this.#migration[k] = v;
    });
    reg('query-migrate', () => ({}));
    reg('query-balloon', () => {
      throw new QmpCommandError('DeviceNotActive', 'No balloon device has been activated');
    });
    reg('balloon', () => {
      throw new QmpCommandError('DeviceNotActive', 'No balloon device has been activated');
    });
    reg('getfd', () => {
      throw new QmpCommandError('GenericError', 'No file descriptor supplied via SCM_RIGHTS');
    });
    reg('add-fd', () => {
      throw new QmpCommandError('GenericError', 'No file descriptor supplied via SCM_RIGHTS');
    });
    reg('query-fdsets', () => []);
    reg('query-iothreads', () => []);
    reg('query-hotpluggable-cpus', () => []);
    reg(
      'migrate-pause',
      () => {
        throw new QmpCommandError(
          'GenericError',
          'migrate-pause is currently only supported during postcopy-active state',
        );
      },
      { allowOob: true },
    );
    reg('query-yank', () => [{ type: 'chardev', id: c.monitors[0]?.label ?? 'compat_monitor0' }], { allowOob: true });

    if (c.debugCommands) {
      // Not in QEMU: lets tool tests trigger BLOCK_IO_ERROR over QMP. Registered only on request.
      s.register('x-sim-inject-io-error', (a) => {
        const args = a as Args;
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
    if (!this.devices.devices.includes(dev)) return;
    this.devices.remove(dev);
    this.emit('DEVICE_DELETED', { device: dev.id, path: dev.path });
  }
}

/** Starts a simulated QEMU: see {@link QmpSimulator.start}. */
export function startSimulator(options: SimulatorOptions = {}): Promise<QmpSimulator> {
  return QmpSimulator.start(options);
}
