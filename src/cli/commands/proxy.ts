import { readFileSync } from 'node:fs';
import { QmpUsageError } from '../../errors/index.js';
import { QmpProxy, type QmpProxyListen, QmpProxyPolicy } from '../../proxy/index.js';
import { type ParsedArgv, parseArgv } from '../argv.js';
import type { CliIo } from '../cli-io.js';
import { EXIT_CODES, exitCodeFor } from '../exit-codes.js';

const HELP = `usage: qmpkit proxy --upstream ADDRESS --listen ADDRESS [--listen ADDRESS ...] [options]

Shares one QEMU monitor among many clients. Each client gets QEMU's own greeting, negotiates on its
own, sees replies with its own ids and every event. The proxy holds one upstream session (with oob
when QEMU offers it) and reconnects when QEMU comes back on the same address.

  --upstream ADDRESS     QEMU's monitor: a socket path, HOST:PORT, unix:PATH, tcp:HOST:PORT
  --listen ADDRESS       where clients connect (repeatable): unix:PATH (mode 0600), a path,
                         tcp:HOST:PORT, HOST:PORT, or tls:HOST:PORT (needs --tls-cert/--tls-key)
  --policy FILE          allow/deny profiles per listener or per client certificate (docs/proxy.md)
  --audit FILE           append every forwarded command as a JSON line (client, time, command, outcome)
  --tls-cert FILE        server certificate for tls: listeners
  --tls-key FILE         its key
  --tls-ca FILE          CA for client certificates: clients must present one signed by it
  --max-clients N        clients at once (default 64)
  --max-client-events N  events buffered for a client that does not read before it is disconnected (default 4096)
  -h, --help             show this help

Runs until SIGINT/SIGTERM. Exit status: 0 after a signal, 2 usage error, 3 cannot reach QEMU at start.
`;

const OPTIONS = {
  upstream: { type: 'string' },
  listen: { type: 'string', multiple: true },
  policy: { type: 'string' },
  audit: { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-ca': { type: 'string' },
  'max-clients': { type: 'string' },
  'max-client-events': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function listeners(p: ParsedArgv): QmpProxyListen[] {
  return p.strings('listen').map((address) => {
    if (!address.startsWith('tls:')) return { address };
    const cert = p.string('tls-cert');
    const key = p.string('tls-key');
    if (cert === undefined || key === undefined)
      throw new QmpUsageError(`--listen ${address} needs --tls-cert and --tls-key`);
    const ca = p.string('tls-ca');
    return {
      address: address.slice(4),
      tls: {
        cert: readFileSync(cert),
        key: readFileSync(key),
        ...(ca === undefined ? {} : { ca: readFileSync(ca), requestCert: true, rejectUnauthorized: true }),
      },
    };
  });
}

/** `qmpkit proxy`. */
export async function runProxy(argv: readonly string[], io: CliIo): Promise<number> {
  let proxy: QmpProxy;
  try {
    const p = parseArgv(argv, OPTIONS, { command: 'qmpkit proxy' });
    if (p.flag('help')) {
      io.stdout.write(HELP);
      return EXIT_CODES.ok;
    }
    const upstream = p.string('upstream');
    if (upstream === undefined)
      throw new QmpUsageError("qmpkit proxy: --upstream is required (see 'qmpkit proxy --help')");
    if (p.strings('listen').length === 0)
      throw new QmpUsageError("qmpkit proxy: --listen is required (see 'qmpkit proxy --help')");
    const policyFile = p.string('policy');
    const audit = p.string('audit');
    const maxClients = p.integer('max-clients', 1);
    const maxEvents = p.integer('max-client-events', 1);
    proxy = await QmpProxy.start({
      upstream,
      listen: listeners(p),
      ...(policyFile === undefined ? {} : { policy: QmpProxyPolicy.fromFile(policyFile) }),
      ...(audit === undefined ? {} : { audit }),
      ...(maxClients === undefined ? {} : { maxClients }),
      ...(maxEvents === undefined ? {} : { maxClientEventBuffer: maxEvents }),
    });
  } catch (err) {
    io.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    return exitCodeFor(err);
  }
  io.stderr.write(
    `qmpkit proxy: ${proxy.addresses.join(', ')} -> ${argv[argv.indexOf('--upstream') + 1] ?? 'upstream'}\n`,
  );
  await new Promise<void>((resolve) => {
    if (io.signal === undefined) return;
    if (io.signal.aborted) resolve();
    io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await proxy.close();
  return EXIT_CODES.ok;
}
