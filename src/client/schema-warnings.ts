import { QmpValidationError } from '../errors/qmp-error.js';
import type { QapiSchema, QemuRelease } from '../schema/index.js';
import type { QmpDeprecationMode } from './options.js';
import type { QmpSchemaSource } from './schema-source.js';

const FEATURES = ['deprecated', 'unstable'] as const;

/**
 * Warns once per finding (per client) about deprecated and unstable things a call uses, saying
 * since which bundled release QEMU marks them so when the schema is a known release's. With
 * `'throw'` the call is refused instead, every time.
 */
export class SchemaWarnings {
  readonly #mode: QmpDeprecationMode;
  readonly #onWarning: (message: string) => void;
  readonly #warned = new Set<string>();
  /** Bundled schemas read to date the findings, per client: loaded only once something is found. */
  readonly #history = new Map<QemuRelease, QapiSchema>();
  #schema: typeof import('../schema/index.js') | undefined;

  constructor(mode: QmpDeprecationMode, onWarning: (message: string) => void) {
    this.#mode = mode;
    this.#onWarning = onWarning;
  }

  /** Loads what dating findings needs; called once a schema is there (the schema module is then loaded anyway). */
  async prepare(): Promise<void> {
    this.#schema ??= await import('../schema/index.js');
  }

  /** Checks one call: `undefined`, or (mode `'throw'`) the error to reject it with. */
  check(schema: QapiSchema, source: QmpSchemaSource, name: string, args: unknown): QmpValidationError | undefined {
    if (this.#mode === 'off') return undefined;
    for (const feature of FEATURES)
      for (const finding of schema.deprecations(name, args, feature)) {
        if (this.#mode === 'throw')
          return new QmpValidationError(
            `${finding} in the connected QEMU${this.#since(source, finding, name, args, feature)}`,
            'execute',
          );
        if (this.#warned.has(finding)) continue;
        this.#warned.add(finding);
        this.#onWarning(`qmpkit: ${finding} in the connected QEMU${this.#since(source, finding, name, args, feature)}`);
      }
    return undefined;
  }

  #since(
    source: QmpSchemaSource,
    finding: string,
    name: string,
    args: unknown,
    feature: 'deprecated' | 'unstable',
  ): string {
    const m = this.#schema;
    if (source.kind === 'given' || m === undefined) return '';
    const upTo = source.release ?? m.QEMU_RELEASES[m.QEMU_RELEASES.length - 1]!;
    const load = (r: QemuRelease): QapiSchema => {
      let s = this.#history.get(r);
      if (s === undefined) this.#history.set(r, (s = m.loadReleaseSchema(r)));
      return s;
    };
    const first = m.firstReleaseWith(finding, name, args, feature, upTo, load);
    if (first === undefined) return '';
    return first === m.QEMU_RELEASES[0]
      ? ` (${feature} since QEMU ${first} or earlier)`
      : ` (${feature} since QEMU ${first})`;
  }
}
