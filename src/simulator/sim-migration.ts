// Outgoing migration as QEMU 7.2 shows it on QMP (migration/migration.c): capabilities, parameter
// range checks, `migrate` to exec:, tcp:, unix: and fd: URIs, MIGRATION/MIGRATION_PASS events when
// the `events` capability is on, STOP and the finish-migrate/postmigrate run states, migrate_cancel,
// and query-migrate's stats. The transfer is simulated: nothing is opened, connected or executed.
import { QmpCommandError } from '../errors/qmp-command-error.js';
import type { SimMachine, SimRegister } from './sim-commands.js';

/** QEMU 7.2's migration capabilities, in query-migrate-capabilities order. */
export const MIGRATION_CAPABILITIES: readonly string[] = [
  'xbzrle',
  'rdma-pin-all',
  'auto-converge',
  'zero-blocks',
  'compress',
  'events',
  'postcopy-ram',
  'x-colo',
  'release-ram',
  'block',
  'return-path',
  'pause-before-switchover',
  'multifd',
  'dirty-bitmaps',
  'postcopy-blocktime',
  'late-block-activate',
  'x-ignore-shared',
  'validate-uuid',
  'background-snapshot',
  'zero-copy-send',
  'postcopy-preempt',
];

/** How often a simulated transfer moves data and checks whether it is done. */
const TICK_MS = 50;
const PAGE_SIZE = 4096;
/** RAM of the simulated pc and q35 guests (QEMU's 128 MiB default plus its ROM regions). */
const GUEST_RAM_BYTES = 134750208;
/** A fresh guest's RAM is mostly zero pages, which QEMU sends as page headers only. */
const NON_ZERO_FRACTION = 1 / 256;

type Check = [name: string, bad: (v: number, p: Record<string, unknown>) => boolean, expects: string];

// migrate_params_check() in QEMU 7.2, in its order, with its texts.
const PARAMETER_CHECKS: readonly Check[] = [
  ['compress-level', (v) => v > 9, 'a value between 0 and 9'],
  ['compress-threads', (v) => v < 1 || v > 255, 'a value between 1 and 255'],
  ['decompress-threads', (v) => v < 1 || v > 255, 'a value between 1 and 255'],
  ['throttle-trigger-threshold', (v) => v < 1 || v > 100, 'an integer in the range of 1 to 100'],
  ['cpu-throttle-initial', (v) => v < 1 || v > 99, 'an integer in the range of 1 to 99'],
  ['cpu-throttle-increment', (v) => v < 1 || v > 99, 'an integer in the range of 1 to 99'],
  ['downtime-limit', (v) => v > 2000 * 1000, 'an integer in the range of 0 to (2000 * 1000) ms'],
  ['multifd-channels', (v) => v < 1, 'a value between 1 and 255'],
  [
    'xbzrle-cache-size',
    (v) => v < PAGE_SIZE || !Number.isInteger(Math.log2(v)),
    'a power of two no less than the target page size',
  ],
  [
    'max-cpu-throttle',
    (v, p) => v < Number(p['cpu-throttle-initial']) || v > 99,
    'an integer in the range of cpu_throttle_initial to 99',
  ],
  ['announce-initial', (v) => v > 100000, 'a value between 0 and 100000'],
  ['announce-max', (v) => v > 100000, 'a value between 0 and 100000'],
  ['announce-rounds', (v) => v > 1000, 'a value between 0 and 1000'],
  ['announce-step', (v) => v < 1 || v > 10000, 'a value between 0 and 10000'],
];

type MigrationStatus = 'none' | 'setup' | 'active' | 'cancelling' | 'cancelled' | 'completed' | 'failed';

/** The simulated QEMU's outgoing migration. */
export class SimMigration {
  readonly #sim: SimMachine;
  readonly #caps = new Map<string, boolean>(MIGRATION_CAPABILITIES.map((c) => [c, false]));
  #status: MigrationStatus = 'none';
  #errorDesc: string | undefined;
  #startedAt = 0;
  #endedAt = 0;
  #transferred = 0;
  #total = 0;
  #toSend = 0;
  #passes = 0;
  #timer: NodeJS.Timeout | undefined;
  /** Set by fault injection: the next migration fails with this text once active. */
  failNext: string | undefined;
  #failWith: string | undefined;

  constructor(sim: SimMachine) {
    this.#sim = sim;
  }

  get active(): boolean {
    return this.#status === 'setup' || this.#status === 'active' || this.#status === 'cancelling';
  }

  #event(status: MigrationStatus): void {
    this.#status = status;
    if (this.#caps.get('events')) this.#sim.emit('MIGRATION', { status });
  }

  #pass(): void {
    this.#passes++;
    if (this.#caps.get('events')) this.#sim.emit('MIGRATION_PASS', { pass: this.#passes });
  }

  setCapabilities(list: readonly { capability: string; state: boolean }[]): void {
    if (this.active) throw new QmpCommandError('GenericError', "There's a migration process in progress");
    for (const c of list) this.#caps.set(c.capability, c.state);
  }

  queryCapabilities(): Record<string, unknown>[] {
    return [...this.#caps].map(([capability, state]) => ({ capability, state }));
  }

  /** Checks the parameters as they would be after the change, then applies it. */
  setParameters(args: Record<string, unknown>): void {
    const merged: Record<string, unknown> = { ...this.#sim.migration };
    for (const [k, v] of Object.entries(args)) if (v !== undefined) merged[k] = v;
    for (const [name, bad, expects] of PARAMETER_CHECKS) {
      if (args[name] === undefined) continue;
      if (bad(Number(merged[name]), merged))
        throw new QmpCommandError('GenericError', `Parameter '${name.replaceAll('-', '_')}' expects ${expects}`);
    }
    Object.assign(this.#sim.migration, merged);
  }

  /** `migrate`: setup before the reply, the transfer after it. */
  start(uri: string, later: (fn: () => void) => void): void {
    if (this.active) throw new QmpCommandError('GenericError', "There's a migration process in progress");
    if (this.#sim.runstate.state === 'postmigrate')
      throw new QmpCommandError('GenericError', "Can't migrate the vm that was paused due to previous migration");
    this.#clear();
    this.#errorDesc = undefined;
    this.#passes = 0;
    this.#transferred = 0;
    this.#startedAt = Date.now();
    this.#event('setup');
    const scheme = /^(exec|tcp|unix|fd|rdma):/.exec(uri)?.[1];
    if (scheme === undefined || scheme === 'rdma' || scheme === 'fd') {
      this.#event('failed');
      throw new QmpCommandError(
        'GenericError',
        scheme === 'fd'
          ? `File descriptor named '${uri.slice(3)}' has not been found`
          : "Parameter 'uri' expects a valid migration protocol",
      );
    }
    this.#failWith = this.failNext;
    this.failNext = undefined;
    const ram = this.#sim.config.machine === 'none' ? 0 : GUEST_RAM_BYTES;
    this.#total = ram;
    later(() => {
      this.#pass();
      this.#event('active');
      this.#toSend = Math.ceil(ram * NON_ZERO_FRACTION);
      this.#tick(this.#toSend);
    });
  }

  #tick(toSend: number): void {
    this.#timer = undefined;
    if (this.#status !== 'active') return;
    if (this.#failWith !== undefined) {
      this.#errorDesc = this.#failWith;
      this.#endedAt = Date.now();
      this.#event('failed');
      return;
    }
    const perTick = Math.max(1, (Number(this.#sim.migration['max-bandwidth']) * TICK_MS) / 1000);
    this.#transferred = Math.min(toSend, this.#transferred + perTick);
    if (this.#transferred < toSend) {
      this.#timer = setTimeout(() => this.#tick(toSend), TICK_MS);
      this.#timer.unref();
      return;
    }
    this.#complete();
  }

  #complete(): void {
    const rs = this.#sim.runstate;
    if (this.#total > 0) this.#pass();
    const wasRunning = rs.running;
    rs.set('finish-migrate');
    if (wasRunning) this.#sim.emit('STOP');
    this.#pass();
    rs.set('postmigrate');
    this.#endedAt = Date.now();
    this.#event('completed');
  }

  /** `migrate_cancel`: cancelling before the reply, cancelled after it; the guest keeps running. */
  cancel(later: (fn: () => void) => void): void {
    if (this.#status !== 'setup' && this.#status !== 'active') return;
    this.#clear();
    this.#event('cancelling');
    later(() => {
      this.#endedAt = Date.now();
      this.#event('cancelled');
    });
  }

  #clear(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  close(): void {
    this.#clear();
  }

  /** query-migrate's MigrationInfo. */
  query(): Record<string, unknown> {
    const s = this.#status;
    if (s === 'none') return {};
    if (s === 'failed') return { status: s, 'error-desc': this.#errorDesc };
    if (s !== 'active' && s !== 'completed') return { status: s };
    const done = s === 'completed';
    const elapsed = (done ? this.#endedAt : Date.now()) - this.#startedAt;
    const normal = Math.floor(this.#transferred / PAGE_SIZE);
    const mbps = elapsed > 0 ? (this.#transferred * 8) / (elapsed * 1000) : 0;
    return {
      status: s,
      'total-time': elapsed,
      'expected-downtime': done ? undefined : Number(this.#sim.migration['downtime-limit']),
      downtime: done ? 0 : undefined,
      'setup-time': 1,
      ram: {
        transferred: this.#transferred,
        remaining: done || this.#toSend === 0 ? 0 : Math.round(this.#total * (1 - this.#transferred / this.#toSend)),
        total: this.#total,
        duplicate: done ? Math.floor(this.#total / PAGE_SIZE) - normal : 0,
        skipped: 0,
        normal,
        'normal-bytes': normal * PAGE_SIZE,
        'dirty-pages-rate': 0,
        mbps,
        'dirty-sync-count': this.#passes,
        'postcopy-requests': 0,
        'page-size': PAGE_SIZE,
        'multifd-bytes': 0,
        'pages-per-second': 0,
        'precopy-bytes': this.#transferred,
        'downtime-bytes': 0,
        'postcopy-bytes': 0,
        'dirty-sync-missed-zero-copy': 0,
      },
    };
  }
}

/** Registers migrate, migrate_cancel, capabilities, parameters and query-migrate. */
export function registerMigrationCommands(reg: SimRegister, sim: SimMachine, mig: SimMigration): void {
  reg('migrate', (a, ctx) => mig.start(String(a['uri']), (fn) => ctx.onReplyWritten(fn)));
  reg('migrate_cancel', (_a, ctx) => mig.cancel((fn) => ctx.onReplyWritten(fn)));
  reg('query-migrate', () => mig.query());
  reg('query-migrate-capabilities', () => mig.queryCapabilities());
  reg('migrate-set-capabilities', (a) =>
    mig.setCapabilities(a['capabilities'] as readonly { capability: string; state: boolean }[]),
  );
  reg('migrate-set-parameters', (a) => mig.setParameters(a));
  reg('query-migrate-parameters', () => ({ ...sim.migration }));
}
