import type { Duplex } from 'node:stream';
import { QmpClient, type QmpClientOptions } from '../client/index.js';
import { QmpCommandError, QmpConnectionError, QmpError, QmpUsageError } from '../errors/index.js';
import { MAX_PROXY_CLIENT_EVENT_BUFFER, MAX_PROXY_CLIENTS, MAX_PROXY_PENDING_PER_CLIENT } from '../limits.js';
import type { UntypedCommands, UntypedEvents } from '../protocol/index.js';
import { type QmpCommandContext, QmpServer, type QmpServerSession } from '../server/index.js';
import { traceAnomaly } from '../trace/index.js';
import {
  formatAddress,
  listenTls,
  listenTransport,
  type QmpAddress,
  type QmpTlsServerOptions,
} from '../transport/index.js';
import { compactJsonText, encodeQValue, type QValue, RawJson } from '../wire/index.js';
import { QmpAuditLog, type QmpAuditRecord } from './audit-log.js';
import { listenerKey, QmpProxyPolicy, type QmpProxyRules } from './policy.js';

type Upstream = QmpClient<UntypedCommands, UntypedEvents>;

/** One `--listen` endpoint. */
export interface QmpProxyListen {
  /** `unix:PATH`, a path, `tcp:HOST:PORT` or `HOST:PORT` (QEMU's `,server=on,wait=off` accepted). */
  address: string;
  /** TLS for a TCP listener; with `ca` and `requestCert: true` clients need a certificate. */
  tls?: QmpTlsServerOptions;
}

/** Options of {@link QmpProxy.start}. */
export interface QmpProxyOptions {
  /** The QEMU monitor to share: any client address. */
  upstream: string | QmpAddress;
  /** Client options for the upstream connection (TLS, timeouts). */
  upstreamOptions?: Omit<QmpClientOptions, 'negotiate'>;
  listen: ReadonlyArray<string | QmpProxyListen>;
  policy?: QmpProxyPolicy;
  /** Audit log: a file path (JSON lines, appended) or a callback. */
  audit?: string | ((record: QmpAuditRecord) => void);
  /** Clients served at once (default {@link MAX_PROXY_CLIENTS}); more are disconnected at once. */
  maxClients?: number;
  /** Commands one client may have in flight (default {@link MAX_PROXY_PENDING_PER_CLIENT}); while that many are unanswered the client is not read. */
  maxPendingPerClient?: number;
  /** Events buffered for a client that does not read before it is disconnected (default {@link MAX_PROXY_CLIENT_EVENT_BUFFER}). */
  maxClientEventBuffer?: number;
  /** Reconnect to the upstream when it goes away (default true). */
  reconnect?: boolean;
  /** First and longest reconnect delay, in ms (default 100 and 5000). */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
}

interface ClientInfo {
  readonly session: QmpServerSession;
  readonly label: string;
  readonly listener: string;
  readonly rules: QmpProxyRules;
  pending: number;
  unflushedEvents: number;
}

/**
 * Many clients on one QEMU monitor. One upstream session (with `oob` when offered); each client gets
 * QEMU's real greeting and negotiates on its own (answered locally, with QEMU's exact replies);
 * commands are forwarded with the proxy's own ids, so every client sees its own ids; events fan out
 * to every negotiated client with a bounded buffer; allow/deny policies and an audit log.
 */
export class QmpProxy {
  readonly #options: QmpProxyOptions;
  readonly #policy: QmpProxyPolicy;
  readonly #audit: QmpAuditLog | undefined;
  readonly #clients = new Map<QmpServerSession, ClientInfo>();
  readonly #closers: Array<() => Promise<void>> = [];
  readonly #maxClients: number;
  readonly #maxPending: number;
  readonly #maxEvents: number;
  #server: QmpServer | undefined;
  #upstream: Upstream | undefined;
  #closing = false;
  #clientSeq = 0;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #upstreamWaiters: Array<() => void> = [];
  /** Bound listener addresses (TCP port 0 resolved). */
  readonly addresses: string[] = [];

  private constructor(options: QmpProxyOptions) {
    this.#options = options;
    this.#policy = options.policy ?? new QmpProxyPolicy();
    this.#audit = options.audit === undefined ? undefined : new QmpAuditLog(options.audit);
    this.#maxClients = options.maxClients ?? MAX_PROXY_CLIENTS;
    this.#maxPending = options.maxPendingPerClient ?? MAX_PROXY_PENDING_PER_CLIENT;
    this.#maxEvents = options.maxClientEventBuffer ?? MAX_PROXY_CLIENT_EVENT_BUFFER;
  }

  /** Connects upstream, then opens the listeners. */
  static async start(options: QmpProxyOptions): Promise<QmpProxy> {
    if (options.listen.length === 0) throw new QmpUsageError('proxy: give at least one listen address');
    const listening = new Set(options.listen.map((l) => listenerKey(typeof l === 'string' ? l : l.address)));
    for (const key of options.policy?.listenerKeys() ?? []) {
      // A policy for a listener that does not exist is a typo that would leave the real one open.
      if (!listening.has(key))
        throw new QmpUsageError(`proxy: the policy names listener ${key}, which is not one of the --listen addresses`);
    }
    const proxy = new QmpProxy(options);
    await proxy.#connectUpstream();
    try {
      for (const l of options.listen) await proxy.#listen(typeof l === 'string' ? { address: l } : l);
    } catch (err) {
      await proxy.close();
      throw err;
    }
    return proxy;
  }

  /** True while the upstream session is up. */
  get upstreamConnected(): boolean {
    return this.#upstream !== undefined && this.#upstream.state === 'ready';
  }

  /** Clients connected now. */
  get clientCount(): number {
    return this.#clients.size;
  }

  /** Resolves once the upstream is connected (at once when it is). */
  whenUpstream(): Promise<void> {
    if (this.upstreamConnected) return Promise.resolve();
    return new Promise((r) => this.#upstreamWaiters.push(r));
  }

  async #connectUpstream(): Promise<void> {
    const client = await QmpClient.connect<UntypedCommands, UntypedEvents>(this.#options.upstream, {
      timeoutMs: 10_000,
      inBandIds: false,
      ...this.#options.upstreamOptions,
    });
    if (this.#closing) {
      await client.close();
      return;
    }
    this.#upstream = client;
    const g = client.greeting.QMP;
    // The server is built once, with the first upstream's greeting; a restarted QEMU on the same
    // socket is the same binary.
    this.#server ??= this.#makeServer(g.version, client.oobEnabled ? ['oob'] : []);
    client.on('*', (_ev, text) => this.#fanOut(text));
    client.onClose((reason) => this.#upstreamLost(reason));
    for (const w of this.#upstreamWaiters.splice(0)) w();
  }

  #makeServer(version: QmpServer['version'], capabilities: string[]): QmpServer {
    // pipelineDepth: a client's pipelined commands go up pipelined (QEMU runs them in order anyway),
    // and the client stops being read while that many are unanswered.
    const server = new QmpServer({
      version,
      capabilities,
      serialDispatch: false,
      throttledEvents: {},
      pipelineDepth: this.#maxPending,
    });
    server.setFallback((command, _args, ctx) => this.#forward(command, ctx as QmpCommandContext), {
      allowOob: true,
    });
    return server;
  }

  async #listen(l: QmpProxyListen): Promise<void> {
    const onConn = (stream: Duplex, cn?: string): void => this.#accept(stream, l.address, cn);
    if (l.tls) {
      const t = await listenTls(l.address, l.tls, (s, peer) => onConn(s, peer.commonName));
      this.addresses.push(`tls:${formatAddress(t.address)}`);
      this.#closers.push(() => t.close());
    } else {
      const t = await listenTransport(l.address, { onConnection: (s) => onConn(s) });
      this.addresses.push(formatAddress(t.address));
      this.#closers.push(() => t.close());
    }
  }

  #accept(stream: Duplex, listener: string, cn: string | undefined): void {
    const server = this.#server;
    if (this.#closing || !server || !this.upstreamConnected || this.#clients.size >= this.#maxClients) {
      traceAnomaly(
        'proxy',
        listener,
        this.upstreamConnected
          ? `client refused: ${this.#maxClients} clients already`
          : 'client refused: upstream QEMU is not connected',
      );
      stream.destroy();
      return;
    }
    const label = `${listener}#${++this.#clientSeq}${cn === undefined ? '' : `(${cn})`}`;
    const session = server.serve(stream, { label });
    const info: ClientInfo = {
      session,
      label,
      listener,
      rules: this.#policy.rulesFor(listener, cn),
      pending: 0,
      unflushedEvents: 0,
    };
    this.#clients.set(session, info);
    void session.whenClosed().then(() => this.#clients.delete(session));
  }

  async #forward(command: string, ctx: QmpCommandContext): Promise<RawJson> {
    const info = this.#clients.get(ctx.session);
    const started = Date.now();
    const audit = (outcome: QmpAuditRecord['outcome'], e?: { errorClass: string; desc: string }): void => {
      this.#audit?.write({
        time: new Date().toISOString(),
        client: info?.label ?? ctx.session.label,
        listener: info?.listener ?? '',
        command,
        oob: ctx.oob,
        outcome,
        ...(e ? { class: e.errorClass, desc: e.desc } : {}),
        ms: Date.now() - started,
      });
    };
    if (info && !info.rules.allows(command)) {
      const err = new QmpCommandError(
        'GenericError',
        `The command ${command} is not allowed by this proxy's policy (profile '${info.rules.name}')`,
      );
      audit('denied', err);
      throw err;
    }
    if (info && info.pending >= this.#maxPending) {
      throw new QmpCommandError(
        'GenericError',
        `Too many commands in flight for this client (limit ${this.#maxPending})`,
      );
    }
    const up = this.#upstream;
    if (up?.state !== 'ready') {
      audit('disconnected');
      throw new QmpCommandError(
        'GenericError',
        'The QEMU behind this proxy is not connected; the command was not sent',
      );
    }
    if (info) info.pending++;
    try {
      // QEMU's own bytes go back: its reply decoded and re-encoded would not keep QEMU's member
      // order. The arguments go up as the client's parser read them (order, int vs double kept), and
      // none at all when there were none: QEMU reads a byte per system call, every byte costs.
      const argsText = ctx.arguments.size === 0 ? undefined : encodeQValue(ctx.arguments as Map<string, QValue>);
      const result = await up.executeText(command, argsText, { oob: ctx.oob });
      audit('ok');
      return new RawJson(result);
    } catch (err) {
      if (err instanceof QmpCommandError) {
        audit('error', err);
        throw new QmpCommandError(err.errorClass, err.desc);
      }
      audit('disconnected', { errorClass: 'GenericError', desc: err instanceof Error ? err.message : String(err) });
      // As when QEMU itself dies: the client's connection drops (its library reports that the
      // command may or may not have run); no error reply claims the command failed.
      void ctx.session.close(0);
      throw new QmpCommandError('GenericError', err instanceof QmpError ? err.message : String(err));
    } finally {
      if (info) info.pending--;
    }
  }

  #fanOut(text: string): void {
    // QEMU's text, on one line; the writer copies a RawJson through.
    const ev = new RawJson(compactJsonText(text));
    for (const info of this.#clients.values()) {
      const s = info.session;
      if (!s.negotiated || s.closed) continue;
      if (info.unflushedEvents >= this.#maxEvents) {
        // A client that does not read is cut off, so it never slows QEMU or the others.
        traceAnomaly('proxy', info.label, `client does not read its events (${this.#maxEvents} queued): disconnected`);
        void s.close(0);
        continue;
      }
      info.unflushedEvents++;
      s.writeMessage(ev, () => {
        info.unflushedEvents--;
      });
    }
  }

  #upstreamLost(reason: QmpError | undefined): void {
    this.#upstream = undefined;
    // In-flight commands already failed (the client library rejects them, never replays them);
    // clients are disconnected so their libraries report the loss the same way.
    for (const info of [...this.#clients.values()]) void info.session.close(0);
    if (this.#closing || this.#options.reconnect === false) return;
    traceAnomaly('proxy', 'upstream', `upstream lost (${reason?.message ?? 'closed'}); reconnecting`);
    this.#scheduleReconnect(this.#options.reconnectMinMs ?? 100);
  }

  #scheduleReconnect(delay: number): void {
    const max = this.#options.reconnectMaxMs ?? 5000;
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      this.#connectUpstream().catch((err: unknown) => {
        if (this.#closing) return;
        if (!(err instanceof QmpConnectionError || err instanceof QmpError))
          traceAnomaly('proxy', 'upstream', String(err));
        this.#scheduleReconnect(Math.min(max, delay * 2));
      });
    }, delay);
  }

  /** Stops listening, disconnects every client and the upstream. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    for (const c of this.#closers.splice(0)) await c().catch(() => {});
    await this.#server?.close();
    await this.#upstream?.close();
    await this.#audit?.close();
  }
}
