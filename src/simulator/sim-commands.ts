// What the simulator's command handlers get: a way to register a handler (its return is put in the
// schema's member order) and the simulated machine. The handlers are grouped by QEMU's QAPI modules,
// one file each (sim-commands-*.ts).
import type { QapiSchema } from '../schema/index.js';
import type { QmpCommandContext, QmpMonitor, QmpServer } from '../server/index.js';
import type { SimRunStateMachine } from './run-state.js';
import type { SimBlock } from './sim-block.js';
import type { SimConfig } from './sim-config.js';
import type { SimDevices } from './sim-devices.js';
import type { SimFds } from './sim-fds.js';
import type { SimRelease } from './sim-release.js';

/** A command's arguments, as the server checked them against the schema. */
export type SimArgs = Record<string, unknown>;

/** Registers a handler for a command (nothing happens when the release played lacks it). */
export type SimRegister = (
  name: string,
  fn: (args: SimArgs, ctx: QmpCommandContext) => unknown,
  options?: { allowOob?: boolean },
) => void;

/** The simulated machine as its command handlers see it. */
export interface SimMachine {
  readonly config: SimConfig;
  /** The QEMU release played: its schema and recorded replies. */
  readonly release: SimRelease;
  readonly server: QmpServer;
  /** QEMU 7.2's schema, for what depends on its enums (object types). */
  readonly schema: QapiSchema;
  readonly block: SimBlock;
  /** Descriptors clients passed (`getfd`, `add-fd`) and fd sets. */
  readonly fds: SimFds;
  readonly devices: SimDevices;
  readonly runstate: SimRunStateMachine;
  readonly monitors: readonly QmpMonitor[];
  /** Migration parameters as set so far (query-migrate-parameters). */
  readonly migration: Record<string, unknown>;
  emit(event: string, data?: Record<string, unknown>): void;
  status(): Record<string, unknown>;
  stop(): void;
  cont(): void;
  reset(): void;
  powerdown(): void;
  /** The simulated QEMU exits. */
  exit(reason: string): void;
  /** A device is gone (an unplug the guest acknowledged, a reset, USB): it and what was on its buses. */
  deleted(dev: NonNullable<ReturnType<SimDevices['find']>>): void;
}

/** An argument that must be a string when present. */
export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
