import { readFileSync } from 'node:fs';
import { QmpSchemaError } from '../errors/index.js';
import { loadQemu72Introspection } from './load-qemu-72.js';

/**
 * The QEMU releases whose x86_64 schema ships with the package, oldest first. `10.2` was recorded
 * from a 10.2 development build (it reports itself as 10.1.50).
 */
export const QEMU_RELEASES = ['6.2', '7.2', '8.2', '9.2', '10.0', '10.2'] as const;

/** A release whose schema ships with the package. */
export type QemuRelease = (typeof QEMU_RELEASES)[number];

/** The `query-version` reply recorded with a release's schema. */
export interface RecordedVersion {
  qemu: { major: number; minor: number; micro: number };
  package: string;
}

/** True when `name` is a release whose schema ships with the package. */
export function isQemuRelease(name: string): name is QemuRelease {
  return (QEMU_RELEASES as readonly string[]).includes(name);
}

function readData(path: string): unknown {
  const url = new URL(`../../../data/${path}`, import.meta.url);
  try {
    return JSON.parse(readFileSync(url, 'utf8'));
  } catch (e) {
    throw new QmpSchemaError(`Cannot read schema data at ${url.pathname}`, { cause: e });
  }
}

/** A release's `query-qmp-schema` result, as recorded from that release. A fresh array on every call. */
export function loadReleaseIntrospection(release: QemuRelease): unknown[] {
  if (release === '7.2') return loadQemu72Introspection();
  const list = readData(`qemu/${release}/qmp-schema.json`);
  if (!Array.isArray(list)) throw new QmpSchemaError(`data/qemu/${release} does not hold a query-qmp-schema result`);
  return list;
}

/** A release's `query-version` reply, as recorded with its schema. */
export function loadReleaseVersion(release: QemuRelease): RecordedVersion {
  return readData(`qemu/${release}/query-version.json`) as RecordedVersion;
}
