import { channel } from 'node:diagnostics_channel';
import { QmpProtocolError } from '../errors/qmp-error.js';
import type { QmpGreeting } from '../protocol/messages.js';
import type { QapiSchema, QemuRelease } from '../schema/index.js';
import type { QmpSession } from './session.js';

/** The diagnostics channel on which a client says which schema it checks against. */
export const SCHEMA_CHANNEL = 'qmpkit:client:schema';

/**
 * Where a client's schema came from: the one bundled for `release` (`schema: 'auto'` and the
 * greeting's version matched), read from QEMU with `query-qmp-schema` (`'fetch'`, or `'auto'`
 * without a bundled match; `release` is the bundled release of the same version when there is one),
 * or given in the options.
 */
export type QmpSchemaSource =
  | { kind: 'bundled'; release: QemuRelease }
  | { kind: 'fetched'; release?: QemuRelease }
  | { kind: 'given' };

/** What is published on {@link SCHEMA_CHANNEL} once the schema is loaded. */
export interface QmpSchemaMessage {
  /** The session's label. */
  readonly connection: string;
  readonly source: QmpSchemaSource;
  /** QEMU's version from the greeting. */
  readonly version: { major: number; minor: number; micro: number };
}

const schemaChannel = channel(SCHEMA_CHANNEL);

/**
 * Loads the schema a session's commands are checked against. `'auto'` takes the bundled schema of
 * the greeting's version without a round trip (as a function that reads it, called on first use),
 * and fetches when none is bundled; `'fetch'` always asks QEMU. The schema module is imported here, on demand, so a client without a schema never
 * loads it.
 */
export async function loadSessionSchema(
  session: QmpSession,
  mode: 'auto' | 'fetch',
  label: string,
  timeoutMs: number,
): Promise<{ schema: QapiSchema | (() => QapiSchema); source: QmpSchemaSource }> {
  const { QapiSchema, bundledReleaseFor, loadReleaseSchema, qemuIntrospectionHints } = await import(
    '../schema/index.js'
  );
  const version = (session.greeting as QmpGreeting).QMP.version.qemu;
  const release = bundledReleaseFor(version);
  let result: { schema: QapiSchema | (() => QapiSchema); source: QmpSchemaSource };
  if (mode === 'auto' && release !== undefined) {
    // Read when first needed: connecting stays as fast as without a schema.
    result = { schema: () => loadReleaseSchema(release), source: { kind: 'bundled', release } };
  } else {
    const entries = await session.request('query-qmp-schema', undefined, { timeoutMs });
    if (!Array.isArray(entries)) throw new QmpProtocolError('query-qmp-schema did not return an array');
    // Introspection collapses integer widths and alternate names; for a known QEMU version the
    // schema module has them, so validation texts match that QEMU exactly.
    const hints = qemuIntrospectionHints(version);
    result = {
      schema: QapiSchema.fromIntrospection(entries, hints ? { hints } : {}),
      source: release === undefined ? { kind: 'fetched' } : { kind: 'fetched', release },
    };
  }
  if (schemaChannel.hasSubscribers)
    schemaChannel.publish({ connection: label, source: result.source, version } satisfies QmpSchemaMessage);
  return result;
}
