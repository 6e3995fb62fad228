import type { StatusInfoStatus } from '../qapi/7.2/index.js';

/** QEMU's RunState enum (the same 16 values in every bundled release). */
export type SimRunState = StatusInfoStatus;

/** QEMU 7.2's allowed run-state transitions (softmmu/runstate.c); anything else is a bug there too. */
export const QEMU_7_2_RUNSTATE_TRANSITIONS: Readonly<Record<SimRunState, readonly SimRunState[]>> = {
  prelaunch: ['inmigrate', 'running', 'finish-migrate'],
  debug: ['running', 'finish-migrate', 'prelaunch', 'suspended'],
  inmigrate: [
    'internal-error',
    'io-error',
    'paused',
    'running',
    'shutdown',
    'suspended',
    'watchdog',
    'guest-panicked',
    'finish-migrate',
    'prelaunch',
    'postmigrate',
    'colo',
  ],
  'internal-error': ['paused', 'finish-migrate', 'prelaunch'],
  'io-error': ['running', 'finish-migrate', 'prelaunch'],
  paused: ['running', 'finish-migrate', 'postmigrate', 'prelaunch', 'colo'],
  postmigrate: ['running', 'finish-migrate', 'prelaunch'],
  'finish-migrate': ['running', 'paused', 'postmigrate', 'prelaunch', 'colo'],
  'restore-vm': ['running', 'prelaunch'],
  colo: ['running', 'prelaunch', 'shutdown'],
  running: [
    'debug',
    'internal-error',
    'io-error',
    'paused',
    'finish-migrate',
    'restore-vm',
    'save-vm',
    'shutdown',
    'watchdog',
    'guest-panicked',
    'colo',
    'suspended',
  ],
  'save-vm': ['running'],
  shutdown: ['paused', 'finish-migrate', 'prelaunch', 'colo'],
  suspended: ['running', 'finish-migrate', 'prelaunch', 'colo'],
  watchdog: ['running', 'finish-migrate', 'prelaunch', 'colo'],
  'guest-panicked': ['running', 'finish-migrate', 'prelaunch'],
};

/** Holds the run state; refuses transitions QEMU 7.2 would abort on. */
export class SimRunStateMachine {
  #state: SimRunState;
  #hasRun = false;
  readonly #listeners: ((state: SimRunState) => void)[] = [];

  constructor(initial: SimRunState) {
    this.#state = initial;
  }

  get state(): SimRunState {
    return this.#state;
  }

  /** True while the guest runs (what `query-status` reports as `running`). */
  get running(): boolean {
    return this.#state === 'running';
  }

  /** True once the guest has run: QEMU's virtual clock has moved (it stands still from `-S` until `cont`). */
  get hasRun(): boolean {
    return this.#hasRun;
  }

  /** QEMU's runstate_needs_reset(). */
  get needsReset(): boolean {
    return this.#state === 'internal-error' || this.#state === 'shutdown';
  }

  /** Moves to `to`. A move to the current state is a no-op; a move QEMU forbids throws. */
  set(to: SimRunState): void {
    if (to === this.#state) return;
    if (!QEMU_7_2_RUNSTATE_TRANSITIONS[this.#state].includes(to)) {
      throw new Error(`invalid runstate transition: '${this.#state}' -> '${to}'`);
    }
    this.#state = to;
    if (to === 'running') this.#hasRun = true;
    for (const fn of this.#listeners) fn(to);
  }

  /** Calls `fn` after every change of state (the guest agent answers only while the VM runs). */
  onChange(fn: (state: SimRunState) => void): void {
    this.#listeners.push(fn);
  }
}
