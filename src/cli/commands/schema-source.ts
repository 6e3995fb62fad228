import { accessSync, closeSync, constants, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { QmpProtocolError, QmpUsageError } from '../../errors/qmp-error.js';
import { launch } from '../../launcher/index.js';
import { isQemuRelease, loadReleaseIntrospection, QapiSchema, QEMU_RELEASES } from '../../schema/index.js';
import { connectQmp } from '../connect-qmp.js';

/** A schema and how to name where it came from. */
export interface LoadedSchema {
  readonly schema: QapiSchema;
  /** `QEMU 7.2`, `schema.json`, `QEMU 10.0.2 at /tmp/qmp.sock`. */
  readonly label: string;
}

/** Options of {@link loadSchemaSource}. */
export interface SchemaSourceOptions {
  /** Deadline to connect to a monitor or start a binary, in ms. */
  readonly timeoutMs: number;
  /** Treat the source as a QEMU binary to start (`--qemu-binary`). */
  readonly binary?: boolean;
  /** Aborts starting a binary. */
  readonly signal?: AbortSignal | undefined;
}

/** A usage error that lists the releases whose schema ships with qmpkit. */
export function unknownReleaseError(name: string): QmpUsageError {
  return new QmpUsageError(`no bundled schema for QEMU ${name}: the bundled releases are ${QEMU_RELEASES.join(', ')}`);
}

function firstByte(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(64);
    const n = readSync(fd, buf, 0, 64, 0);
    return buf.subarray(0, n).toString('latin1').trimStart().charAt(0);
  } finally {
    closeSync(fd);
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function fromIntrospection(entries: unknown, label: string): LoadedSchema {
  try {
    return { schema: QapiSchema.fromIntrospection(entries), label };
  } catch (err) {
    throw new QmpUsageError(`${label}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

function readSchemaFile(path: string): LoadedSchema {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new QmpUsageError(`${path}: not a JSON schema file (${err instanceof Error ? err.message : String(err)})`);
  }
  return fromIntrospection(parsed, path);
}

async function fromMonitor(address: string, timeoutMs: number): Promise<LoadedSchema> {
  const conn = await connectQmp(address, { timeoutMs });
  try {
    const reply = await conn.send('query-qmp-schema', {}, { timeoutMs });
    if ('error' in reply) throw new QmpProtocolError(`${address}: query-qmp-schema failed: ${reply.error.desc}`);
    const v = conn.greeting?.QMP.version.qemu;
    const version = v === undefined ? '' : ` ${v.major}.${v.minor}.${v.micro}`;
    return fromIntrospection(reply.return, `QEMU${version} at ${address}`);
  } finally {
    await conn.close();
  }
}

async function fromBinary(binary: string, options: SchemaSourceOptions): Promise<LoadedSchema> {
  const qemu = await launch({
    argv: [binary, '-machine', 'none', '-nodefaults', '-display', 'none'],
    startTimeoutMs: options.timeoutMs,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  try {
    const entries = await qemu.qmp.executeRaw('query-qmp-schema', {}, { timeoutMs: options.timeoutMs });
    const v = qemu.qmp.greeting.QMP.version.qemu;
    return fromIntrospection(entries, `QEMU ${v.major}.${v.minor}.${v.micro} (${binary})`);
  } finally {
    await qemu.close();
  }
}

/**
 * Reads a schema from what the user named: a bundled release (`7.2`), a `query-qmp-schema` result
 * in a file (the array or the whole reply), a QEMU binary (started with `-machine none -nodefaults
 * -display none` on a private monitor, asked, stopped), or the address of a running QEMU's monitor.
 * Throws `QmpUsageError` for an unknown release or an unreadable file, and the client's connection
 * errors for a monitor or binary that does not answer.
 */
export async function loadSchemaSource(source: string, options: SchemaSourceOptions): Promise<LoadedSchema> {
  if (options.binary) return fromBinary(source, options);
  if (isQemuRelease(source))
    return { schema: QapiSchema.fromIntrospection(loadReleaseIntrospection(source)), label: `QEMU ${source}` };
  if (/^\d+\.\d+$/.test(source)) throw unknownReleaseError(source);
  let stat: ReturnType<typeof statSync> | undefined;
  try {
    stat = statSync(source);
  } catch {
    stat = undefined;
  }
  if (stat?.isSocket()) return fromMonitor(source, options.timeoutMs);
  if (stat?.isFile()) {
    const c = firstByte(source);
    if (c === '[' || c === '{') return readSchemaFile(source);
    if (isExecutable(source)) return fromBinary(source, options);
    throw new QmpUsageError(`${source}: neither a query-qmp-schema result (JSON) nor a QEMU binary`);
  }
  if (stat !== undefined) throw new QmpUsageError(`${source}: not a file, socket or QEMU binary`);
  if (/^(unix|tcp):/.test(source) || /^[^/]*:\d+$/.test(source)) return fromMonitor(source, options.timeoutMs);
  throw new QmpUsageError(
    `${source}: not a bundled release (${QEMU_RELEASES.join(', ')}), a schema file, a QEMU binary or a monitor address`,
  );
}
