import { QmpUsageError } from '../../errors/qmp-error.js';
import { DEFAULT_CONNECT_TIMEOUT_MS } from '../../limits.js';
import type { QmpEvent } from '../../protocol/messages.js';
import type { JsonValue } from '../../wire/json-value.js';
import { parseArgv } from '../argv.js';
import type { CliIo } from '../cli-io.js';
import { connectQmp } from '../connect-qmp.js';
import { EXIT_CODES, exitCodeFor } from '../exit-codes.js';
import { renderJson } from '../render-json.js';
import type { ShellConnection } from '../shell-connection.js';

const HELP = `usage: qmpkit events ADDRESS [--name NAME ...] [--match KEY=VALUE ...] [--count N] [--timeout-ms MS]

Prints QEMU's events as they arrive, one JSON object per line, exactly as QEMU sent them
(with "timestamp"), until interrupted, --count events, or --timeout-ms. Pipe it: | jq .

  qmpkit events /tmp/qmp.sock
  qmpkit events /tmp/qmp.sock --name STOP --name RESUME
  qmpkit events /tmp/qmp.sock --name DEVICE_TRAY_MOVED --match device=ide1-cd0 --count 1 --timeout-ms 5000

options:
  -h, --help            show this help and exit
      --name NAME       only events with this name (repeatable; any of them)
      --match KEY=VALUE only events whose data has KEY (dotted for nested) equal to VALUE
                        (compared as text: tray-open=true, device=ide1-cd0; repeatable; all must match)
      --count N         exit after N matching events
      --timeout-ms MS   stop after MS milliseconds
  -p, --pretty          indent each event (several lines per event)
  -v, --verbose         say on stderr when connected and listening
      --connect-timeout-ms MS
                        deadline to connect and negotiate (default ${DEFAULT_CONNECT_TIMEOUT_MS})

Exit status:
  0  --count events arrived; or, without --count, --timeout-ms passed
  2  usage error
  3  could not connect, or the connection was lost (QEMU exited)
  4  --timeout-ms passed before --count events arrived (how many did is said on stderr)
  130 interrupted (Ctrl-C, SIGTERM)
`;

interface Match {
  readonly path: readonly string[];
  readonly text: string;
}

function lookup(data: JsonValue | undefined, path: readonly string[]): JsonValue | undefined {
  let v = data;
  for (const seg of path) {
    if (typeof v !== 'object' || v === null || Array.isArray(v) || typeof v === 'bigint') return undefined;
    v = v[seg];
  }
  return v;
}

function valueText(v: JsonValue): string {
  return typeof v === 'string' ? v : renderJson(v);
}

/** `qmpkit events`. */
export async function runEvents(argv: readonly string[], io: CliIo): Promise<number> {
  let conn: ShellConnection | undefined;
  try {
    const p = parseArgv(
      argv,
      {
        help: { type: 'boolean', short: 'h' },
        name: { type: 'string', multiple: true },
        match: { type: 'string', multiple: true },
        count: { type: 'string' },
        'timeout-ms': { type: 'string' },
        'connect-timeout-ms': { type: 'string' },
        pretty: { type: 'boolean', short: 'p' },
        verbose: { type: 'boolean', short: 'v' },
      },
      { command: 'qmpkit events' },
    );
    if (p.flag('help')) {
      io.stdout.write(HELP);
      return EXIT_CODES.ok;
    }
    const count = p.integer('count', 1);
    const timeoutMs = p.integer('timeout-ms', 1);
    const connectTimeoutMs = p.integer('connect-timeout-ms', 1);
    const names = new Set(p.strings('name'));
    const matches: Match[] = p.strings('match').map((m) => {
      const eq = m.indexOf('=');
      if (eq <= 0) throw new QmpUsageError(`qmpkit events: --match needs KEY=VALUE, got '${m}'`);
      return { path: m.slice(0, eq).split('.'), text: m.slice(eq + 1) };
    });
    const [address, extra] = p.positionals;
    if (address === undefined) throw new QmpUsageError('qmpkit events: missing ADDRESS (see qmpkit events --help)');
    if (extra !== undefined) throw new QmpUsageError(`qmpkit events: unexpected argument '${extra}'`);

    conn = await connectQmp(address, { timeoutMs: connectTimeoutMs });
    const c = conn;
    const pretty = p.flag('pretty');
    if (p.flag('verbose')) {
      const v = c.greeting?.QMP.version.qemu;
      const version = v === undefined ? '' : ` (QEMU ${v.major}.${v.minor}.${v.micro})`;
      io.stderr.write(`qmpkit events: listening on ${address}${version}\n`);
    }
    return await new Promise<number>((resolve) => {
      let seen = 0;
      let finished = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (code: number): void => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        io.signal?.removeEventListener('abort', onAbort);
        io.stdout.off('error', onStdoutError);
        resolve(code);
      };
      const onAbort = (): void => finish(EXIT_CODES.interrupted);
      // The reader went away (`| head -1`): that is a normal end for a stream.
      const onStdoutError = (): void => finish(EXIT_CODES.ok);
      io.stdout.on('error', onStdoutError);
      if (io.signal?.aborted) onAbort();
      io.signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          if (count !== undefined) {
            io.stderr.write(
              `qmpkit events: ${seen} of ${count} event${count === 1 ? '' : 's'} arrived within ${timeoutMs} ms\n`,
            );
          }
          finish(count === undefined ? EXIT_CODES.ok : EXIT_CODES.timeout);
        }, timeoutMs);
      }
      c.onEvent((event: QmpEvent) => {
        if (finished) return;
        if (names.size > 0 && !names.has(event.event)) return;
        const data = event.data as JsonValue | undefined;
        for (const m of matches) {
          const v = lookup(data, m.path);
          if (v === undefined || valueText(v) !== m.text) return;
        }
        const value = event as unknown as JsonValue;
        io.stdout.write(`${renderJson(value, pretty ? { style: 'pretty', indent: 2 } : {})}\n`);
        seen++;
        if (count !== undefined && seen >= count) finish(EXIT_CODES.ok);
      });
      void c.closed.then((reason) => {
        if (finished) return;
        io.stderr.write(`qmpkit events: connection lost${reason === undefined ? '' : `: ${reason.message}`}\n`);
        finish(EXIT_CODES.connection);
      });
    });
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    io.stderr.write(msg.startsWith('qmpkit events') ? `${msg}\n` : `qmpkit events: ${msg}\n`);
    return exitCodeFor(err);
  } finally {
    await conn?.close().catch(() => undefined);
  }
}
