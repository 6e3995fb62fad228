// Runs an outgoing migration to its end: the `events` capability on (QEMU sends MIGRATION events only
// then), the MIGRATION events subscribed to before `migrate` is sent, and the final query-migrate as
// the answer. A migration the caller gives up on (timeout, abort) is cancelled, so the guest is not
// left paused in finish-migrate by a migration nobody follows.
import { QmpMigrationError } from '../errors/qmp-job-error.js';
import type { QmpCommandMap, QmpEventMap } from '../protocol/command-map.js';
import type { QmpEvent } from '../protocol/messages.js';
import type { JsonObject } from '../wire/json-value.js';
import { Deadline } from './deadline.js';
import type { QmpEventIterator } from './event-hub.js';
import type { QmpClient } from './qmp-client.js';
import { asHelperClient, type QmpHelperClient } from './run-job.js';

/** Options of {@link waitMigration}. */
export interface QmpWaitMigrationOptions {
  /** Deadline for the migration, ms: past it the migration is cancelled and the call rejects with `QMP_ERR_TIMEOUT`. */
  timeoutMs?: number;
  /** Cancels the migration (`migrate_cancel`) and rejects with `QMP_ERR_ABORTED`. */
  signal?: AbortSignal;
  /** Called with each MIGRATION status (`setup`, `active`, `completed`, ...), in order. */
  onStatus?: (status: string) => void;
}

/** Options of {@link migrate}. */
export interface QmpMigrateOptions extends QmpWaitMigrationOptions {
  /** More capabilities to set with `events` (e.g. `{ 'auto-converge': true }`). */
  capabilities?: Record<string, boolean>;
  /** `migrate-set-parameters` arguments to set first (e.g. `{ 'max-bandwidth': 1e9 }`). */
  parameters?: Record<string, unknown>;
}

const FINAL = new Set(['completed', 'failed', 'cancelled']);

async function queryMigrate(client: QmpHelperClient): Promise<JsonObject> {
  return (await client.executeRaw('query-migrate')) as JsonObject;
}

function subscribe(client: QmpHelperClient): QmpEventIterator<QmpEvent<unknown>> {
  return client.events({ names: ['MIGRATION'] });
}

function statusOf(e: QmpEvent<unknown>): string | undefined {
  const d = e.data as Record<string, unknown> | undefined;
  return typeof d?.['status'] === 'string' ? d['status'] : undefined;
}

/** How often to look whether QEMU has left finish-migrate after MIGRATION `completed`. */
const SETTLE_POLL_MS = 10;

/**
 * QEMU sends MIGRATION `completed` before it moves the run state from finish-migrate to
 * postmigrate (in a bottom half after the event), and `cont` in finish-migrate fails with
 * "Migration is not finalized yet". There is no event for that move, so it is polled, until
 * `gaveUp` says the caller's deadline passed.
 */
async function settle(client: QmpHelperClient, gaveUp: () => boolean): Promise<void> {
  while (!gaveUp()) {
    const st = (await client.executeRaw('query-status')) as JsonObject;
    if (st['status'] !== 'finish-migrate') return;
    await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
  }
}

/** The final query-migrate, or a QmpMigrationError when the migration did not complete. */
async function outcome(client: QmpHelperClient, gaveUp: () => boolean = () => false): Promise<JsonObject> {
  const info = await queryMigrate(client);
  const status = String(info['status']);
  if (status === 'completed') {
    await settle(client, gaveUp);
    return info;
  }
  const desc = typeof info['error-desc'] === 'string' ? info['error-desc'] : undefined;
  throw new QmpMigrationError(`migration ${status}${desc ? `: ${desc}` : ''}`, {
    status,
    errorDesc: desc,
    info,
  });
}

async function follow(
  client: QmpHelperClient,
  it: QmpEventIterator<QmpEvent<unknown>>,
  options: QmpWaitMigrationOptions,
  catchUp: boolean,
): Promise<JsonObject> {
  let fired: Error | undefined;
  const deadline = new Deadline(
    'migration',
    options.timeoutMs,
    options.signal,
    (err) => {
      fired = err;
      void it.return?.();
    },
    'the migration did not finish',
  );
  const gaveUp = (): boolean => fired !== undefined;
  try {
    // Where it stands now: a migration that ended before the wait began is not waited for.
    if (catchUp) {
      const now = await queryMigrate(client);
      if (fired === undefined && FINAL.has(String(now['status']))) return await outcome(client, gaveUp);
    }
    while (fired === undefined) {
      const next = await it.next();
      if (next.done) break;
      const status = statusOf(next.value);
      if (status === undefined) continue;
      options.onStatus?.(status);
      if (FINAL.has(status)) return await outcome(client, gaveUp);
    }
    if (fired !== undefined) {
      await client.executeRaw('migrate_cancel').catch(() => {});
      throw fired;
    }
    // The session ended: query-migrate rejects with its error.
    return await outcome(client);
  } finally {
    deadline.clear();
    void it.return?.();
  }
}

/**
 * Waits for the migration in progress to end and returns the final query-migrate. Needs the
 * `events` capability on (as {@link migrate} sets it): QEMU sends no MIGRATION events without it.
 * Rejects with {@link QmpMigrationError} (`QMP_ERR_MIGRATION`) when it fails or is cancelled; on
 * timeout or abort it sends `migrate_cancel` first.
 */
export async function waitMigration<C extends QmpCommandMap<C>, E extends QmpEventMap<E>>(
  qmp: QmpClient<C, E>,
  options: QmpWaitMigrationOptions = {},
): Promise<JsonObject> {
  const client = asHelperClient(qmp);
  return follow(client, subscribe(client), options, true);
}

/**
 * Migrates to `uri` (`exec:CMD`, `tcp:HOST:PORT`, `unix:PATH`, `fd:NAME`): turns the `events`
 * capability on, sets `parameters`, sends `migrate` and follows it as {@link waitMigration} does.
 * A URI QEMU refuses rejects with QEMU's `QmpCommandError`.
 */
export async function migrate<C extends QmpCommandMap<C>, E extends QmpEventMap<E>>(
  qmp: QmpClient<C, E>,
  uri: string,
  options: QmpMigrateOptions = {},
): Promise<JsonObject> {
  const client = asHelperClient(qmp);
  const capabilities = Object.entries({ ...options.capabilities, events: true }).map(([capability, state]) => ({
    capability,
    state,
  }));
  await client.executeRaw('migrate-set-capabilities', { capabilities });
  if (options.parameters) await client.executeRaw('migrate-set-parameters', options.parameters);
  const it = subscribe(client);
  try {
    await client.executeRaw('migrate', { uri });
  } catch (err) {
    void it.return?.();
    throw err;
  }
  return follow(client, it, options, false);
}
