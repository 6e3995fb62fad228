// The QEMU release the simulator plays: its schema (which commands exist and how arguments are
// checked), its query-version, and its query-qmp-schema and query-commands replies as that QEMU sends
// them. Handlers do not change between releases; a command the release lacks is not registered.
import { QmpUsageError } from '../errors/qmp-error.js';
import {
  isQemuRelease,
  loadQemu72Schema,
  loadReleaseIntrospection,
  loadReleaseVersion,
  QapiSchema,
  type QapiTypeRef,
  QEMU_RELEASES,
  type QemuRelease,
  qemuIntrospectionHints,
  type RecordedVersion,
} from '../schema/index.js';
import { RawJson } from '../wire/q-value.js';
import { quoteQemuString } from '../wire/qemu-json-writer.js';

/** The release the simulator plays when none is asked for. */
export const DEFAULT_SIM_RELEASE: QemuRelease = '7.2';

/** A QEMU release as the simulator plays it. */
export interface SimRelease {
  readonly name: QemuRelease;
  /** The release's schema: which commands exist, how arguments are checked. */
  readonly schema: QapiSchema;
  /** Its recorded `query-version` reply. */
  readonly version: RecordedVersion;
  /** The `return` of `query-qmp-schema`, as that QEMU writes it (made on first use). */
  schemaReply(): RawJson;
  /** The `return` of `query-commands`, in that QEMU's order (made on first use). */
  commandsReply(): RawJson;
}

/**
 * QEMU's text for a recorded value: `", "` and `": "` separators, ASCII-only strings, members in
 * the order recorded. (`writeQemuJson` would re-sort members into QDict order from their insertion
 * order; the recording already is in the order QEMU sent.)
 */
function recordedText(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(recordedText).join(', ')}]`;
  if (typeof v === 'string') return quoteQemuString(v);
  if (v !== null && typeof v === 'object')
    return `{${Object.entries(v)
      .map(([k, x]) => `${quoteQemuString(k)}: ${recordedText(x)}`)
      .join(', ')}}`;
  return JSON.stringify(v);
}

/**
 * `query-commands` as QEMU lists it: its command table in reverse registration order, which is the
 * reverse of the schema's order, except `device_add` (not generated from the schema, registered
 * last, so listed first). Checked against real QEMU 7.2 and 10.0.
 */
function commandOrder(entries: readonly unknown[]): string[] {
  const names = entries
    .filter((e): e is { name: string } => (e as Record<string, unknown>)['meta-type'] === 'command')
    .map((e) => e.name);
  const rest = names.filter((n) => n !== 'device_add').reverse();
  return names.includes('device_add') ? ['device_add', ...rest] : rest;
}

/** Loads a release for the simulator. Throws `QmpUsageError` listing the bundled releases for any other name. */
export function loadSimRelease(name: string): SimRelease {
  if (!isQemuRelease(name))
    throw new QmpUsageError(`Unknown QEMU release '${name}': the simulator plays ${QEMU_RELEASES.join(', ')}`);
  const version = loadReleaseVersion(name);
  const schema =
    name === '7.2'
      ? loadQemu72Schema()
      : QapiSchema.fromIntrospection(loadReleaseIntrospection(name), {
          ...(qemuIntrospectionHints(version.qemu) === undefined
            ? {}
            : { hints: qemuIntrospectionHints(version.qemu)! }),
        });
  let schemaReply: RawJson | undefined;
  let commandsReply: RawJson | undefined;
  return {
    name,
    schema,
    version,
    schemaReply: () => {
      schemaReply ??= new RawJson(recordedText(loadReleaseIntrospection(name)));
      return schemaReply;
    },
    commandsReply: () => {
      commandsReply ??= new RawJson(
        recordedText(commandOrder(loadReleaseIntrospection(name)).map((command) => ({ name: command }))),
      );
      return commandsReply;
    },
  };
}

/**
 * Leaves out of a handler's result the members the release's schema does not have for that type
 * (`singlestep` of `query-status` after QEMU 8.2 removed it), recursively: handlers are written
 * once, for every release.
 */
export function fitToSchema(schema: QapiSchema, ref: QapiTypeRef | undefined, value: unknown, depth = 0): unknown {
  if (ref === undefined || value === null || typeof value !== 'object' || depth > 64) return value;
  const t = schema.type(ref);
  if (t === undefined) return value;
  if (t.metaType === 'array')
    return Array.isArray(value) ? value.map((v) => fitToSchema(schema, t.elementType, v, depth + 1)) : value;
  if (t.metaType !== 'object' || Array.isArray(value)) return value;
  const src = value as Record<string, unknown>;
  const members = [...t.members];
  const tag = t.tag === undefined ? undefined : src[t.tag];
  const branch = t.variants?.find((v) => v.case === tag);
  const b = branch === undefined ? undefined : schema.type(branch.type);
  if (b?.metaType === 'object') members.push(...b.members);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(src)) {
    const m = members.find((x) => x.name === k);
    if (m !== undefined) out[k] = fitToSchema(schema, m.type, v, depth + 1);
  }
  return out;
}
