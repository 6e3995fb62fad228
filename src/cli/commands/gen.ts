import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateReleaseTypes, generateTypeScript } from '../../codegen/index.js';
import { QmpError } from '../../errors/index.js';
import { LAUNCH_SHUTDOWN_TIMEOUT_MS, LAUNCH_START_TIMEOUT_MS } from '../../limits.js';
import { loadReleaseIntrospection, QapiSchema, QEMU_RELEASES } from '../../schema/index.js';

const HELP = `usage: qmpkit gen (--from-schema FILE | --from-qapi FILE | --from-qemu BINARY) [-o FILE] [--check]
                   [--no-docs]
       qmpkit gen --bundled -o DIR [--check]

Generates TypeScript types for QMP from a QAPI schema: a Commands map (name -> { args, returns }),
an Events map (name -> data) and one declaration per enum, struct, union and alternate. Types only.

  qmpkit gen --from-schema schema.json -o src/qmp-types.ts
  qmpkit gen --from-qapi ~/qemu/qapi/qapi-schema.json -o src/qmp-types.ts
  qmpkit gen --from-qemu qemu-system-x86_64 -o src/qmp-types.ts
  qmpkit gen --from-schema schema.json -o src/qmp-types.ts --check     # in CI: is the file up to date?
  qmpkit gen --from-qapi qga/qapi-schema.json -o src/qga-types.ts       # the guest agent's commands

sources (exactly one):
      --from-schema FILE  a query-qmp-schema result (the array, or the whole {"return": [...]} reply)
      --from-qapi FILE    QEMU's QAPI source (qapi/qapi-schema.json; includes are followed): real type
                          names and doc comments
      --from-qemu BINARY  start BINARY -machine none -nodefaults -display none, ask it for its
                          schema (query-qmp-schema over stdio), stop it
      --bundled           every QEMU release whose schema ships with qmpkit, into DIR: DIR/<release>/
                          index.ts, DIR/common/*.ts (declarations equal in several releases) and
                          DIR/releases.ts (how qmpkit's own src/qapi is made)

options:
  -o, --output FILE       write the types to FILE (default: stdout)
      --check             do not write: exit 1 when FILE (from -o) differs from what would be generated
      --no-docs           do not copy the schema's doc comments (names, types, conditions only)
  -h, --help              show this help and exit

Exit status:
  0  written (or --check: up to date)
  1  --check: the output would change
  2  usage error, or the schema could not be read
  3  QEMU could not be started or did not answer
`;

interface GenIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** `qmpkit gen`: QAPI schema to TypeScript. Resolves to the exit code. */
export async function runGen(argv: string[], io: GenIo): Promise<number> {
  let values: {
    'from-schema'?: string | undefined;
    'from-qapi'?: string | undefined;
    'from-qemu'?: string | undefined;
    output?: string | undefined;
    check?: boolean | undefined;
    'no-docs'?: boolean | undefined;
    bundled?: boolean | undefined;
    help?: boolean | undefined;
  };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        'from-schema': { type: 'string' },
        'from-qapi': { type: 'string' },
        'from-qemu': { type: 'string' },
        output: { type: 'string', short: 'o' },
        check: { type: 'boolean' },
        'no-docs': { type: 'boolean' },
        bundled: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    io.stderr.write(`qmpkit gen: ${(e as Error).message}\n(see 'qmpkit gen --help')\n`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(HELP);
    return 0;
  }
  if (values.bundled) return genBundled(values, io);
  const sources = (['from-schema', 'from-qapi', 'from-qemu'] as const).filter((k) => values[k] !== undefined);
  if (sources.length !== 1) {
    io.stderr.write(
      "qmpkit gen: give exactly one of --from-schema, --from-qapi, --from-qemu (see 'qmpkit gen --help')\n",
    );
    return 2;
  }
  if (values.check && values.output === undefined) {
    io.stderr.write('qmpkit gen: --check needs -o FILE (the file to compare)\n');
    return 2;
  }
  const kind = sources[0]!;
  const input = values[kind]!;
  let schema: QapiSchema;
  try {
    if (kind === 'from-qemu') {
      schema = QapiSchema.fromIntrospection(await fetchSchemaFromQemu(input));
    } else if (kind === 'from-qapi') {
      schema = QapiSchema.fromQapiFile(input);
    } else {
      schema = QapiSchema.fromIntrospection(JSON.parse(readFileSync(input, 'utf8')) as unknown);
    }
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    io.stderr.write(`qmpkit gen: ${msg}\n`);
    return kind === 'from-qemu' && !(e instanceof QmpError && e.code === 'QMP_ERR_SCHEMA') ? 3 : 2;
  }
  const flag = `--${kind}`;
  // Paths as given when relative (the header must not change between machines), else the file name.
  const shown = (p: string): string => (isAbsolute(p) ? basename(p) : p);
  const noDocs = values['no-docs'] === true;
  const regenerate = `qmpkit gen ${flag} ${shown(input)}${values.output === undefined ? '' : ` -o ${shown(values.output)}`}${noDocs ? ' --no-docs' : ''}`;
  const text = generateTypeScript(schema, { source: shown(input), regenerate, docs: !noDocs });
  if (values.output === undefined) {
    io.stdout.write(text);
    return 0;
  }
  if (values.check) {
    let current: string | undefined;
    try {
      current = readFileSync(values.output, 'utf8');
    } catch {
      current = undefined;
    }
    if (current === text) return 0;
    io.stderr.write(
      `qmpkit gen: ${values.output} is ${current === undefined ? 'missing' : 'out of date'}; run: ${regenerate}\n`,
    );
    return 1;
  }
  try {
    mkdirSync(dirname(values.output), { recursive: true });
    writeFileSync(values.output, text);
  } catch (e) {
    io.stderr.write(`qmpkit gen: cannot write ${values.output}: ${(e as Error).message}\n`);
    return 2;
  }
  return 0;
}

/** `--bundled`: the types of every bundled release, written to (or, with `--check`, compared with) a folder. */
function genBundled(values: { output?: string | undefined; check?: boolean | undefined }, io: GenIo): number {
  const dir = values.output;
  if (dir === undefined) {
    io.stderr.write('qmpkit gen: --bundled needs -o DIR (the folder to write)\n');
    return 2;
  }
  const shown = isAbsolute(dir) ? basename(dir) : dir;
  const regenerate = `qmpkit gen --bundled -o ${shown}`;
  const files = generateReleaseTypes(
    QEMU_RELEASES.map((release) => ({
      release,
      schema: QapiSchema.fromIntrospection(loadReleaseIntrospection(release)),
      source: release === '7.2' ? 'data/qmp-schema-7.2.json' : `data/qemu/${release}/qmp-schema.json`,
    })),
    { regenerate },
  );
  // Shared files that no longer match any set of releases are stale too.
  let old: string[] = [];
  try {
    old = readdirSync(join(dir, 'common')).filter((f) => f.endsWith('.ts') && !files.has(`common/${f}`));
  } catch {
    old = [];
  }
  const differs = [...files].filter(([f, text]) => {
    try {
      return readFileSync(join(dir, f), 'utf8') !== text;
    } catch {
      return true;
    }
  });
  if (values.check) {
    if (differs.length === 0 && old.length === 0) return 0;
    const names = [...differs.map(([f]) => f), ...old.map((f) => `common/${f} (stale)`)];
    io.stderr.write(`qmpkit gen: out of date in ${shown}: ${names.join(', ')}; run: ${regenerate}\n`);
    return 1;
  }
  try {
    for (const f of old) rmSync(join(dir, 'common', f));
    for (const [f, text] of differs) {
      mkdirSync(dirname(join(dir, f)), { recursive: true });
      writeFileSync(join(dir, f), text);
    }
  } catch (e) {
    io.stderr.write(`qmpkit gen: cannot write ${shown}: ${(e as Error).message}\n`);
    return 2;
  }
  return 0;
}

/**
 * Starts `binary` with QMP on stdio, reads `query-qmp-schema` and stops it. Rejects with a plain
 * Error (exit 3) when QEMU cannot start or does not answer in time.
 */
function fetchSchemaFromQemu(binary: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ['-machine', 'none', '-nodefaults', '-display', 'none', '-qmp', 'stdio'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    let buf = '';
    let step = 0;
    let settled = false;
    // Settles once QEMU has exited, so no process outlives the command.
    const finish = (err: Error | undefined, value?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const done = (): void => (err !== undefined ? reject(err) : resolve(value));
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
        done();
        return;
      }
      const killer = setTimeout(() => child.kill('SIGKILL'), err === undefined ? LAUNCH_SHUTDOWN_TIMEOUT_MS : 0);
      child.once('exit', () => {
        clearTimeout(killer);
        done();
      });
      if (err === undefined) child.stdin.end('{"execute": "quit"}\n');
    };
    const timer = setTimeout(
      () => finish(new Error(`${binary} did not answer within ${LAUNCH_START_TIMEOUT_MS} ms\n${stderr.trim()}`)),
      LAUNCH_START_TIMEOUT_MS,
    );
    child.once('error', (e) => finish(new Error(`cannot start ${binary}: ${e.message}`)));
    child.once('exit', (code, signal) =>
      finish(new Error(`${binary} exited (${signal ?? `status ${code}`}) before answering\n${stderr.trim()}`)),
    );
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      stderr = (stderr + d).slice(-4096);
    });
    child.stdin.on('error', () => {});
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      buf += d;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        if (line === '') continue;
        let msg: Record<string, unknown>;
        try {
          msg = JSON.parse(line) as Record<string, unknown>;
        } catch {
          finish(new Error(`${binary} sent something that is not QMP: ${line.slice(0, 200)}`));
          return;
        }
        if ('event' in msg) continue;
        if ('error' in msg) {
          finish(new Error(`${binary} answered with an error: ${JSON.stringify(msg['error'])}`));
          return;
        }
        if (step === 0 && 'QMP' in msg) {
          step = 1;
          child.stdin.write('{"execute": "qmp_capabilities"}\n');
        } else if (step === 1 && 'return' in msg) {
          step = 2;
          child.stdin.write('{"execute": "query-qmp-schema"}\n');
        } else if (step === 2 && 'return' in msg) {
          finish(undefined, msg['return']);
        }
      }
    });
  });
}
