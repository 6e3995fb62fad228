import { QmpUsageError } from '../errors/index.js';
import type { QmpServerSchema } from './types.js';

/** How the dispatcher calls a handler: arguments as handlers see them, and the context. */
export type QmpEntryHandler = (args: unknown, ctx: never) => unknown;

/** One command the server answers. */
export interface QmpCommandEntry {
  readonly handler: QmpEntryHandler;
  readonly allowOob: boolean;
  readonly allowPreconfig: boolean;
  /** Check arguments against the schema before calling the handler. */
  readonly validate: boolean;
}

/** The built-in `qmp_capabilities` (schema: allow-preconfig, no allow-oob); the dispatcher answers it. */
export const CAPABILITIES_ENTRY: QmpCommandEntry = {
  handler: () => undefined,
  allowOob: false,
  allowPreconfig: true,
  validate: false,
};

/** The server's command table (QEMU's `qmp_commands`), with an optional handler for unknown commands. */
export class QmpCommandTable {
  readonly #schema: QmpServerSchema | undefined;
  readonly #commands = new Map<string, QmpCommandEntry>();
  #fallback: QmpCommandEntry | undefined;

  constructor(schema: QmpServerSchema | undefined) {
    this.#schema = schema;
  }

  register(
    name: string,
    handler: QmpEntryHandler,
    options: { allowOob?: boolean; allowPreconfig?: boolean; validate?: boolean },
  ): void {
    if (name === 'qmp_capabilities')
      throw new QmpUsageError('qmp_capabilities is built into QmpServer and cannot be registered');
    if (typeof handler !== 'function') throw new QmpUsageError(`Handler of ${name} is not a function`);
    const known = this.#schema?.command(name);
    this.#commands.set(name, {
      handler,
      allowOob: options.allowOob ?? known?.allowOob ?? false,
      allowPreconfig: options.allowPreconfig ?? known?.allowPreconfig ?? false,
      validate: options.validate ?? true,
    });
  }

  unregister(name: string): boolean {
    return this.#commands.delete(name);
  }

  has(name: string): boolean {
    return name === 'qmp_capabilities' || this.#commands.has(name);
  }

  names(): string[] {
    return ['qmp_capabilities', ...this.#commands.keys()];
  }

  /** Sets (or with `undefined` removes) the handler of unregistered commands; it gets the name first. */
  setFallback(
    handler: ((command: string, args: unknown, ctx: { readonly command: string }) => unknown) | undefined,
    options: { allowOob?: boolean; allowPreconfig?: boolean },
  ): void {
    if (handler === undefined) {
      this.#fallback = undefined;
      return;
    }
    if (typeof handler !== 'function') throw new QmpUsageError('The fallback handler is not a function');
    this.#fallback = {
      handler: ((args: unknown, ctx: { readonly command: string }) =>
        handler(ctx.command, args, ctx)) as QmpEntryHandler,
      allowOob: options.allowOob ?? false,
      allowPreconfig: options.allowPreconfig ?? false,
      validate: false,
    };
  }

  /** The entry that answers `name` in command mode: registered, else the fallback. */
  lookup(name: string): QmpCommandEntry | undefined {
    if (name === 'qmp_capabilities') return CAPABILITIES_ENTRY;
    return this.#commands.get(name) ?? this.#fallback;
  }
}
