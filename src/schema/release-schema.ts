import { type QapiIntrospectionHints, QapiSchema } from './qapi-schema.js';
import { QEMU_7_2_HINTS } from './qemu-72-hints.js';
import { isQemuRelease, loadReleaseIntrospection, QEMU_RELEASES, type QemuRelease } from './releases.js';

/** A QEMU version as the greeting and `query-version` give it. */
export interface QemuVersionNumber {
  major: number;
  minor: number;
  micro: number;
}

/**
 * The bundled release whose schema a QEMU of this version has: `major.minor`, or for a development
 * build (`micro` 50 or more, e.g. 10.1.50) the release it leads to (10.2; after X.2 comes X+1.0).
 * `undefined` when that release is not bundled.
 */
export function bundledReleaseFor(version: QemuVersionNumber): QemuRelease | undefined {
  let name = `${version.major}.${version.minor}`;
  if (version.micro >= 50)
    name = version.minor >= 2 ? `${version.major + 1}.0` : `${version.major}.${version.minor + 1}`;
  return isQemuRelease(name) ? name : undefined;
}

/**
 * The hints qmpkit ships for a QEMU version (from the greeting's `version.qemu`), or `undefined`:
 * the widths and names measured on 7.2, for every version whose release is bundled (see
 * {@link loadReleaseSchema}). Pass them to `QapiSchema.fromIntrospection(entries, { hints })` for a
 * live schema.
 */
export function qemuIntrospectionHints(version: {
  major: number;
  minor: number;
  micro?: number;
}): QapiIntrospectionHints | undefined {
  return bundledReleaseFor({ micro: 0, ...version }) === undefined ? undefined : QEMU_7_2_HINTS;
}

/**
 * A bundled release's schema, ready to validate with. Introspection says `int` for every integer and
 * numbers its alternates; the widths and names measured on QEMU 7.2 are added for every release
 * (a hint only refines a member that still exists and is still `int`): QEMU keeps them stable, and
 * a member added after 7.2 is checked as a 64-bit integer.
 */
export function loadReleaseSchema(release: QemuRelease): QapiSchema {
  return QapiSchema.fromIntrospection(loadReleaseIntrospection(release), { hints: QEMU_7_2_HINTS });
}

/**
 * The oldest bundled release, up to `upTo`, in which the use of `command` with `args` already
 * produced the sentence `finding` of {@link QapiSchema.deprecations} (with that `feature`). `load`
 * gives a release's schema (callers cache). `undefined` when no bundled release up to `upTo` has it.
 */
export function firstReleaseWith(
  finding: string,
  command: string,
  args: unknown,
  feature: 'deprecated' | 'unstable',
  upTo: QemuRelease,
  load: (release: QemuRelease) => QapiSchema,
): QemuRelease | undefined {
  for (const r of QEMU_RELEASES) {
    if (load(r).deprecations(command, args, feature).includes(finding)) return r;
    if (r === upTo) break;
  }
  return undefined;
}
