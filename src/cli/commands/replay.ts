import { QmpUsageError } from '../../errors/qmp-error.js';
import { MAX_RECORDING_BYTES } from '../../limits.js';
import { type QmpReplay, type QmpReplaySessionSummary, replaySession } from '../../replay/index.js';
import type { QmpAddress } from '../../transport/index.js';
import { parseArgv } from '../argv.js';
import type { CliIo } from '../cli-io.js';
import { EXIT_CODES, exitCodeFor } from '../exit-codes.js';

const HELP = `usage: qmpkit replay FILE (--socket PATH | --listen ADDRESS)... [options]

Serves a recorded QMP session as a QMP server: the recorded greeting, then each request answered
with its recorded reply and the recorded events in their place. FILE is a transcript written by
'qmpkit launch --qmp-log' (or TranscriptLog), or qmp-shell's -l log. A request that differs from
the recording gets a GenericError reply saying where (request number, line of FILE, first differing
member, both values), and the same line on stderr; the next request may still be the recorded one.
Every connection replays from the start; each address serves one client at a time.

  qmpkit replay session.jsonl --socket /tmp/replay.sock
  qmpkit replay session.jsonl --listen tcp:127.0.0.1:4444,server=on,wait=off --ignore-ids --once

options:
  -h, --help              show this help and exit
      --socket PATH       listen on a unix socket (repeatable)
      --listen ADDRESS    listen on a QEMU-style address: unix:PATH,server=on,wait=off or
                          tcp:HOST:PORT,server=on,wait=off (repeatable; port 0 picks one)
      --ignore-ids        do not compare request ids; replies carry the client's id
      --fresh-timestamps  send events timestamped now instead of their recorded time
      --ignore PATH       leave a request member out of the comparison, as mismatches name it:
                          arguments.filename, arguments.options.node-name (repeatable)
      --repeat-queries    answer an extra query-* request that equals a recorded one elsewhere
                          with that recorded reply, without moving on
      --once              exit when the first client that sent a command leaves: 0 when it sent
                          every recorded request and nothing else, 1 otherwise
  -p, --pretty            QEMU's pretty=on output
      --max-recording-bytes N
                          refuse a larger FILE (default ${MAX_RECORDING_BYTES})

It says 'qmpkit replay: serving FILE (N requests) on ADDRESS' on stderr once it listens, and runs
until interrupted (exit 130), or with --once as above. A FILE that is not a recording: exit 2 with
the file and line.
`;

function addressText(a: QmpAddress): string {
  if (a.kind === 'unix') return `unix:${a.path}`;
  if (a.kind === 'tcp') return `tcp:${a.host}:${a.port}`;
  return a.kind;
}

/** `qmpkit replay`: serves a recording until interrupted, or until the first client leaves with `--once`. */
export async function runReplay(argv: readonly string[], io: CliIo): Promise<number> {
  let replay: QmpReplay;
  let once: boolean;
  const ended: QmpReplaySessionSummary[] = [];
  let wake: (() => void) | undefined;
  try {
    const p = parseArgv(
      argv,
      {
        help: { type: 'boolean', short: 'h' },
        socket: { type: 'string', multiple: true },
        listen: { type: 'string', multiple: true },
        'ignore-ids': { type: 'boolean' },
        'fresh-timestamps': { type: 'boolean' },
        ignore: { type: 'string', multiple: true },
        'repeat-queries': { type: 'boolean' },
        once: { type: 'boolean' },
        pretty: { type: 'boolean', short: 'p' },
        'max-recording-bytes': { type: 'string' },
      },
      { command: 'qmpkit replay' },
    );
    if (p.flag('help')) {
      io.stdout.write(HELP);
      return EXIT_CODES.ok;
    }
    const [file, extra] = p.positionals;
    if (file === undefined) throw new QmpUsageError('qmpkit replay: missing FILE (see qmpkit replay --help)');
    if (extra !== undefined) throw new QmpUsageError(`qmpkit replay: unexpected argument '${extra}'`);
    const listen = [...p.strings('socket').map((s) => `unix:${s},server=on,wait=off`), ...p.strings('listen')];
    if (listen.length === 0) throw new QmpUsageError('qmpkit replay: give --socket PATH or --listen ADDRESS');
    once = p.flag('once');
    const maxRecordingBytes = p.integer('max-recording-bytes', 0);
    replay = await replaySession(file, {
      listen,
      ignoreIds: p.flag('ignore-ids'),
      freshTimestamps: p.flag('fresh-timestamps'),
      ignorePaths: p.strings('ignore'),
      repeatQueries: p.flag('repeat-queries'),
      pretty: p.flag('pretty'),
      ...(maxRecordingBytes === undefined ? {} : { maxRecordingBytes }),
      onMismatch: (m) => io.stderr.write(`qmpkit replay: ${m.connection}: ${m.message}\n`),
      onSessionEnd: (s) => {
        ended.push(s);
        wake?.();
      },
    });
    const where = replay.monitors.map((m) => addressText(m.address)).join(', ');
    io.stderr.write(`qmpkit replay: serving ${file} (${replay.recording.steps.length} requests) on ${where}\n`);
  } catch (err) {
    io.stderr.write(`qmpkit replay: ${err instanceof Error ? err.message : String(err)}\n`);
    return exitCodeFor(err);
  }
  const code = await new Promise<number>((resolve) => {
    const onAbort = (): void => resolve(EXIT_CODES.interrupted);
    if (io.signal?.aborted) onAbort();
    io.signal?.addEventListener('abort', onAbort, { once: true });
    if (!once) return;
    wake = () => {
      const s = ended[0];
      if (s === undefined) return;
      io.signal?.removeEventListener('abort', onAbort);
      const complete = s.mismatches === 0 && s.matched === s.steps;
      io.stderr.write(
        `qmpkit replay: ${s.connection} sent ${s.matched} of ${s.steps} recorded requests, ${s.mismatches} mismatched\n`,
      );
      resolve(complete ? EXIT_CODES.ok : EXIT_CODES.qmpError);
    };
  });
  await replay.close();
  return code;
}
