import { readFileSync } from 'node:fs';
import { QmpUsageError } from '../../errors/index.js';
import {
  formatProxyNotice,
  QmpProxy,
  type QmpProxyListen,
  type QmpProxyNotice,
  type QmpProxyOptions,
  QmpProxyPolicy,
} from '../../proxy/index.js';
import { type ParsedArgv, parseArgv } from '../argv.js';
import type { CliIo } from '../cli-io.js';
import { EXIT_CODES, exitCodeFor } from '../exit-codes.js';

const HELP = `usage: qmpkit proxy --upstream ADDRESS --listen ADDRESS [--listen ADDRESS ...] [options]

Shares one QEMU monitor among many clients. Each client gets QEMU's own greeting, negotiates on its
own, sees replies with its own ids and every event. The proxy holds one upstream session (with oob
when QEMU offers it) and reconnects when QEMU comes back on the same address.

  --upstream ADDRESS     QEMU's monitor: a socket path, HOST:PORT, unix:PATH, tcp:HOST:PORT, or
                         tls:HOST:PORT (QEMU's tls-creds; verified against --upstream-tls-ca)
  --upstream-tls-ca FILE   CA that signed QEMU's certificate (default: the system's CAs)
  --upstream-tls-cert FILE client certificate for QEMU (tls-creds-x509 with verify-peer=on)
  --upstream-tls-key FILE  its key
  --listen ADDRESS       where clients connect (repeatable): unix:PATH (mode 0600), a path,
                         tcp:HOST:PORT, HOST:PORT, or tls:HOST:PORT (needs --tls-cert/--tls-key)
  --policy FILE          allow/deny profiles per listener or per client certificate (docs/proxy.md)
  --audit FILE           append every forwarded command as a JSON line (client, time, command, outcome)
  --tls-cert FILE        server certificate for tls: listeners
  --tls-key FILE         its key
  --tls-ca FILE          CA for client certificates: clients must present one signed by it
  --max-clients N        connections at once over all listeners, TLS handshakes included (default 64)
  --max-clients-per-listener N
                         connections at once on one listener (default: --max-clients)
  --reserved-full-access N
                         of --max-clients, connections kept for listeners whose profile has full
                         access, so restricted clients cannot lock the owner out (default 4)
  --tls-handshake-timeout MS
                         a TLS client that has not finished its handshake is disconnected (default 10000)
  --negotiation-timeout MS
                         a client without qmp_capabilities this long after connecting is
                         disconnected (default 10000; 0 = never)
  --idle-timeout MS      a client that sends no command this long is disconnected (default 0 = never)
  --audit-max-string N   characters of a string argument kept in the audit log (default 256)
  --audit-max-arguments N
                         characters of one command's arguments kept in the audit log (default 4096)
  --max-pending N        commands one client may have in flight; it is not read past that (default 1024)
  --max-client-events N  events buffered for a client that does not read before it is disconnected (default 4096)
  --wait-upstream        when QEMU is not there yet, listen anyway and keep trying (clients are
                         refused until it is)
  -q, --quiet            do not log connections on stderr (QEMU lost and back, clients coming and going)
  -h, --help             show this help

Runs until SIGINT/SIGTERM/SIGHUP. Exit status: 0 after a signal, 2 usage error, 3 cannot reach QEMU at start
(without --wait-upstream).
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
  'max-pending': { type: 'string' },
  'upstream-tls-ca': { type: 'string' },
  'upstream-tls-cert': { type: 'string' },
  'upstream-tls-key': { type: 'string' },
  'max-client-events': { type: 'string' },
  'max-clients-per-listener': { type: 'string' },
  'reserved-full-access': { type: 'string' },
  'tls-handshake-timeout': { type: 'string' },
  'negotiation-timeout': { type: 'string' },
  'idle-timeout': { type: 'string' },
  'audit-max-string': { type: 'string' },
  'audit-max-arguments': { type: 'string' },
  'wait-upstream': { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** A certificate or key file; a file that cannot be read is a usage error, not a crash. */
function readFileOrUsage(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new QmpUsageError(`qmpkit proxy: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** The upstream address, with TLS options for `tls:HOST:PORT`. */
function upstreamOf(address: string, p: ParsedArgv): Pick<QmpProxyOptions, 'upstream' | 'upstreamOptions'> {
  const ca = p.string('upstream-tls-ca');
  const cert = p.string('upstream-tls-cert');
  const key = p.string('upstream-tls-key');
  if (!address.startsWith('tls:')) {
    if (ca !== undefined || cert !== undefined || key !== undefined)
      throw new QmpUsageError('qmpkit proxy: --upstream-tls-* options need a tls:HOST:PORT upstream');
    return { upstream: address };
  }
  if ((cert === undefined) !== (key === undefined))
    throw new QmpUsageError('qmpkit proxy: --upstream-tls-cert and --upstream-tls-key go together');
  return {
    upstream: address.slice(4),
    upstreamOptions: {
      tls: {
        ...(ca === undefined ? {} : { ca: readFileOrUsage(ca) }),
        ...(cert === undefined || key === undefined ? {} : { cert: readFileOrUsage(cert), key: readFileOrUsage(key) }),
      },
    },
  };
}

function listeners(p: ParsedArgv): QmpProxyListen[] {
  return p.strings('listen').map((address) => {
    if (!address.startsWith('tls:')) return { address };
    const cert = p.string('tls-cert');
    const key = p.string('tls-key');
    if (cert === undefined || key === undefined)
      throw new QmpUsageError(`qmpkit proxy: --listen ${address} needs --tls-cert and --tls-key`);
    const ca = p.string('tls-ca');
    return {
      address: address.slice(4),
      tls: {
        cert: readFileOrUsage(cert),
        key: readFileOrUsage(key),
        ...(ca === undefined ? {} : { ca: readFileOrUsage(ca), requestCert: true, rejectUnauthorized: true }),
      },
    };
  });
}

/** `qmpkit proxy`. */
export async function runProxy(argv: readonly string[], io: CliIo): Promise<number> {
  let proxy: QmpProxy;
  let upstreamText = '';
  let quiet = false;
  try {
    const p = parseArgv(argv, OPTIONS, { command: 'qmpkit proxy' });
    if (p.flag('help')) {
      io.stdout.write(HELP);
      return EXIT_CODES.ok;
    }
    const upstream = p.string('upstream');
    if (upstream === undefined)
      throw new QmpUsageError("qmpkit proxy: --upstream is required (see 'qmpkit proxy --help')");
    upstreamText = upstream;
    if (p.strings('listen').length === 0)
      throw new QmpUsageError("qmpkit proxy: --listen is required (see 'qmpkit proxy --help')");
    const policyFile = p.string('policy');
    const audit = p.string('audit');
    const maxClients = p.integer('max-clients', 1);
    const maxPending = p.integer('max-pending', 1);
    const maxEvents = p.integer('max-client-events', 1);
    const limits: Partial<QmpProxyOptions> = {};
    const set = <K extends keyof QmpProxyOptions>(key: K, flag: string, min: number): void => {
      const v = p.integer(flag, min);
      if (v !== undefined) (limits as Record<string, number>)[key] = v;
    };
    set('maxClientsPerListener', 'max-clients-per-listener', 1);
    set('reservedFullAccessClients', 'reserved-full-access', 0);
    set('handshakeTimeoutMs', 'tls-handshake-timeout', 1);
    set('negotiationTimeoutMs', 'negotiation-timeout', 0);
    set('idleTimeoutMs', 'idle-timeout', 0);
    set('auditMaxStringChars', 'audit-max-string', 1);
    set('auditMaxArgumentChars', 'audit-max-arguments', 1);
    quiet = p.flag('quiet');
    proxy = await QmpProxy.start({
      ...upstreamOf(upstream, p),
      // Warnings are printed even with --quiet.
      onNotice: (n: QmpProxyNotice) => {
        if (!quiet || n.kind === 'listener-exposed') io.stderr.write(`qmpkit proxy: ${formatProxyNotice(n)}\n`);
      },
      ...(p.flag('wait-upstream') ? { waitForUpstream: true } : {}),
      listen: listeners(p),
      ...(policyFile === undefined ? {} : { policy: QmpProxyPolicy.fromFile(policyFile) }),
      ...(audit === undefined ? {} : { audit }),
      ...(maxClients === undefined ? {} : { maxClients }),
      ...(maxPending === undefined ? {} : { maxPendingPerClient: maxPending }),
      ...(maxEvents === undefined ? {} : { maxClientEventBuffer: maxEvents }),
      ...limits,
    });
  } catch (err) {
    // Errors from the policy file, the proxy or the sockets do not name the command; say it once.
    // The library names its options; on the command line they are flags.
    const msg = (err instanceof Error ? err.message : String(err))
      .replace(/^proxy: /, '')
      .replaceAll('the addresses in options.listen', 'the --listen addresses')
      .replaceAll('options.listen', '--listen');
    io.stderr.write(msg.startsWith('qmpkit proxy') ? `${msg}\n` : `qmpkit proxy: ${msg}\n`);
    return exitCodeFor(err);
  }
  if (!quiet) io.stderr.write(`qmpkit proxy: listening on ${proxy.addresses.join(', ')} for QEMU at ${upstreamText}\n`);
  await new Promise<void>((resolve) => {
    if (io.signal === undefined) return;
    if (io.signal.aborted) resolve();
    io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await proxy.close();
  return EXIT_CODES.ok;
}
