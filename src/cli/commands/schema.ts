import { QmpUsageError } from '../../errors/qmp-error.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, LAUNCH_START_TIMEOUT_MS } from '../../limits.js';
import { diffSchemas, QEMU_RELEASES } from '../../schema/index.js';
import { parseArgv } from '../argv.js';
import type { CliIo } from '../cli-io.js';
import { EXIT_CODES, exitCodeFor } from '../exit-codes.js';
import { formatSchemaDiff } from './schema-diff-text.js';
import { describeSchemaEntry, similarNames } from './schema-show.js';
import { loadSchemaSource } from './schema-source.js';

/** The release `schema show` describes without `--qemu`: the one the simulator and `qmpkit/qapi/7.2` speak. */
const SHOW_DEFAULT_RELEASE = '7.2';

const HELP = `usage: qmpkit schema diff A B [--json]
       qmpkit schema show NAME [--qemu SOURCE]

Compares QEMU schemas, and describes a command or event, offline.

  qmpkit schema diff 7.2 10.0                    what changed between two bundled releases
  qmpkit schema diff 7.2 /tmp/qmp.sock           a bundled release against a running QEMU
  qmpkit schema diff 7.2 --qemu-binary /usr/bin/qemu-system-x86_64
  qmpkit schema diff old.json new.json --json    two saved query-qmp-schema results, for tools
  qmpkit schema show blockdev-snapshot-sync      arguments and return type (QEMU ${SHOW_DEFAULT_RELEASE})
  qmpkit schema show query-block --qemu 10.0

A, B and SOURCE are each one of:
  a bundled release       ${QEMU_RELEASES.join(', ')}
  a schema file           a query-qmp-schema result (the array, or the whole {"return": [...]} reply)
  a monitor address       a unix socket path, HOST:PORT, unix:PATH or tcp:HOST:PORT of a running QEMU
  a QEMU binary           started with -machine none -nodefaults -display none on a private monitor,
                          asked for its schema, stopped (or name it with --qemu-binary)

diff lists commands, events, members, enum values, union branches and alternatives added, removed
or changed, and what became deprecated or unstable, breaking changes first. A change is breaking
when a client written for A could use what was removed or changed incompatibly (see docs/schema.md).

options:
  -h, --help              show this help and exit
      --json              diff: print {"from", "to", "breaking", "changes": [...]} as JSON
      --qemu-binary PATH  diff: start PATH as B (A is the one source given)
      --qemu SOURCE       show: the schema to describe (default ${SHOW_DEFAULT_RELEASE})
      --timeout-ms MS     deadline to connect to a monitor (default ${DEFAULT_CONNECT_TIMEOUT_MS}) or start
                          a binary (default ${LAUNCH_START_TIMEOUT_MS})

Exit status:
  0  diff: nothing breaking for clients; show: described
  1  diff: something breaking for clients; show: no command, event or type of that name
  2  usage error, unknown release, or a file that is not a schema
  3  could not connect to the monitor, or the binary did not start or answer
`;

const SPEC = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  'qemu-binary': { type: 'string' },
  qemu: { type: 'string' },
  'timeout-ms': { type: 'string' },
} as const;

/** `qmpkit schema diff|show`. */
export async function runSchema(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const p = parseArgv(argv, SPEC, { command: 'qmpkit schema' });
    if (p.flag('help')) {
      io.stdout.write(HELP);
      return EXIT_CODES.ok;
    }
    const [sub, ...operands] = p.positionals;
    const timeout = p.integer('timeout-ms', 1);
    const binary = p.string('qemu-binary');
    if (sub === 'diff') {
      if (p.string('qemu') !== undefined) throw new QmpUsageError("qmpkit schema diff: --qemu is for 'show'");
      const sources = operands.map((s) => ({ source: s, binary: false }));
      if (binary !== undefined) sources.push({ source: binary, binary: true });
      if (sources.length !== 2)
        throw new QmpUsageError("qmpkit schema diff: give two schemas, A and B (see 'qmpkit schema --help')");
      const load = (s: { source: string; binary: boolean }): ReturnType<typeof loadSchemaSource> =>
        loadSchemaSource(s.source, {
          timeoutMs: timeout ?? (s.binary ? LAUNCH_START_TIMEOUT_MS : DEFAULT_CONNECT_TIMEOUT_MS),
          binary: s.binary,
          signal: io.signal,
        });
      // One after the other: two QEMU binaries at once would compete for two busy cores for nothing.
      const a = await load(sources[0]!);
      const b = await load(sources[1]!);
      const diff = diffSchemas(a.schema, b.schema);
      if (p.flag('json'))
        io.stdout.write(
          `${JSON.stringify({ from: a.label, to: b.label, breaking: diff.breaking, changes: diff.changes }, null, 2)}\n`,
        );
      else io.stdout.write(formatSchemaDiff(diff, a.label, b.label));
      return diff.breaking > 0 ? EXIT_CODES.qmpError : EXIT_CODES.ok;
    }
    if (sub === 'show') {
      if (operands.length !== 1)
        throw new QmpUsageError(
          "qmpkit schema show: give one command, event or type name (see 'qmpkit schema --help')",
        );
      if (p.flag('json') || binary !== undefined)
        throw new QmpUsageError("qmpkit schema show: --json and --qemu-binary are for 'diff'");
      const name = operands[0]!;
      const source = p.string('qemu') ?? SHOW_DEFAULT_RELEASE;
      const { schema, label } = await loadSchemaSource(source, {
        timeoutMs: timeout ?? DEFAULT_CONNECT_TIMEOUT_MS,
        signal: io.signal,
      });
      const text = describeSchemaEntry(schema, name);
      if (text === undefined) {
        const similar = similarNames(schema, name);
        const hint = similar.length === 0 ? '' : ` (similar: ${similar.join(', ')})`;
        io.stderr.write(`qmpkit schema show: ${label} has no command, event or type '${name}'${hint}\n`);
        return EXIT_CODES.qmpError;
      }
      io.stdout.write(`# ${label}\n${text}`);
      return EXIT_CODES.ok;
    }
    throw new QmpUsageError(
      sub === undefined
        ? "qmpkit schema: give 'diff' or 'show' (see 'qmpkit schema --help')"
        : `qmpkit schema: unknown subcommand '${sub}' (see 'qmpkit schema --help')`,
    );
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    io.stderr.write(`${msg.startsWith('qmpkit schema') ? '' : 'qmpkit schema: '}${msg}\n`);
    return exitCodeFor(err);
  }
}
