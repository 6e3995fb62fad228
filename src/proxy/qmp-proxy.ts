import type { Duplex } from 'node:stream';
import { checkValueLimits, QmpSession } from '../client/index.js';
import { QmpCommandError, QmpConnectionError, QmpError, QmpUsageError } from '../errors/index.js';
import {
  MAX_PENDING_COMMANDS,
  MAX_PROXY_CLIENT_EVENT_BUFFER,
  MAX_PROXY_CLIENTS,
  MAX_PROXY_PENDING_PER_CLIENT,
  PROXY_IDLE_TIMEOUT_MS,
  PROXY_NEGOTIATION_TIMEOUT_MS,
  PROXY_RECONNECT_MAX_MS,
  PROXY_RECONNECT_MIN_MS,
  PROXY_RESERVED_FULL_ACCESS_CLIENTS,
  PROXY_UPSTREAM_TIMEOUT_MS,
} from '../limits.js';
import type { QmpGreeting } from '../protocol/index.js';
import { pipelinedDispatch, type QmpCommandContext, QmpServer, type QmpServerSession } from '../server/index.js';
import { traceAnomaly } from '../trace/index.js';
import { formatAddress, listenTls, listenTransport, type QmpAddress } from '../transport/index.js';
import { type QValue, RawJson } from '../wire/index.js';
import { commandAudit, QmpAuditLog } from './audit-log.js';
import { auditArguments } from './audit-redact.js';
import { QmpProxyConnectionLimits, type QmpProxyListenerQuota } from './connection-limits.js';
import { forwardFailure } from './forward-failure.js';
import { requestWithFd } from './forward-fds.js';
import { exposedListenWarning, listenerLabel } from './listener-label.js';
import { listenerKey, QmpProxyPolicy } from './policy.js';
import { type ClientInfo, drainOutbox, fanOutEvent, newClientInfo, type OutboxEntry } from './proxy-client.js';
import type { QmpProxyListen, QmpProxyNotice, QmpProxyOptions } from './proxy-options.js';
import { requestDenial } from './request-check.js';
import { upstreamArguments } from './upstream-arguments.js';

type Upstream = QmpSession;

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
  readonly #auditCaps: { maxStringChars?: number; maxArgumentChars?: number };
  readonly #clients = new Map<QmpServerSession, ClientInfo>();
  readonly #closers: Array<() => Promise<void>> = [];
  readonly #maxClients: number;
  readonly #limits: QmpProxyConnectionLimits;
  readonly #maxPending: number;
  readonly #maxEvents: number;
  #server: QmpServer | undefined;
  #upstream: Upstream | undefined;
  #closing = false;
  #clientSeq = 0;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #upstreamWaiters: Array<() => void> = [];
  #upstreamSeen = false;
  /** Bound listener addresses (TCP port 0 resolved). */
  readonly addresses: string[] = [];

  private constructor(options: QmpProxyOptions) {
    this.#options = options;
    this.#policy = options.policy ?? new QmpProxyPolicy();
    this.#audit = options.audit === undefined ? undefined : new QmpAuditLog(options.audit);
    this.#auditCaps = {
      ...(options.auditMaxStringChars === undefined ? {} : { maxStringChars: options.auditMaxStringChars }),
      ...(options.auditMaxArgumentChars === undefined ? {} : { maxArgumentChars: options.auditMaxArgumentChars }),
    };
    this.#maxClients = options.maxClients ?? MAX_PROXY_CLIENTS;
    this.#limits = new QmpProxyConnectionLimits(
      this.#maxClients,
      options.reservedFullAccessClients ?? PROXY_RESERVED_FULL_ACCESS_CLIENTS,
    );
    this.#maxPending = options.maxPendingPerClient ?? MAX_PROXY_PENDING_PER_CLIENT;
    this.#maxEvents = options.maxClientEventBuffer ?? MAX_PROXY_CLIENT_EVENT_BUFFER;
  }

  /** Connects upstream, then opens the listeners. */
  static async start(options: QmpProxyOptions): Promise<QmpProxy> {
    if (options.listen.length === 0) throw new QmpUsageError('proxy: options.listen needs at least one address');
    const listening = new Set(options.listen.map((l) => listenerKey(typeof l === 'string' ? l : l.address)));
    for (const key of options.policy?.listenerKeys() ?? []) {
      // A policy for a listener that does not exist is a typo that would leave the real one open.
      if (!listening.has(key))
        throw new QmpUsageError(
          `proxy: the policy names listener ${key}, which is not one of the addresses in options.listen`,
        );
    }
    const proxy = new QmpProxy(options);
    try {
      await proxy.#connectUpstream();
    } catch (err) {
      if (options.waitForUpstream !== true || !(err instanceof QmpError)) throw err;
      proxy.#notify({ kind: 'upstream-unreachable', upstream: proxy.#upstreamText(), reason: err.message });
      proxy.#scheduleReconnect(options.reconnectMinMs ?? PROXY_RECONNECT_MIN_MS);
    }
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

  /** Connections open now: clients plus TLS connections still in their handshake. */
  get connectionCount(): number {
    return this.#limits.count;
  }

  /** Resolves once the upstream is connected (at once when it is). */
  whenUpstream(): Promise<void> {
    if (this.upstreamConnected) return Promise.resolve();
    return new Promise((r) => this.#upstreamWaiters.push(r));
  }

  async #connectUpstream(): Promise<void> {
    // A session, not a QmpClient: the proxy relays JSON text (requestText) and needs to know when
    // each reply is read (onReply); it never decodes commands by type.
    const client = await QmpSession.connect(this.#options.upstream, {
      timeoutMs: PROXY_UPSTREAM_TIMEOUT_MS,
      // Room for every client's commands at once: the per-client limit is what bounds them.
      maxPendingCommands: Math.max(MAX_PENDING_COMMANDS, this.#maxClients * (this.#maxPending + 1)),
      // Every upstream request is re-encoded here, so QEMU can read each one and an id-less reply
      // can only be the id-less request's: a client waiting for each reply then costs QEMU no id.
      idlessInBand: true,
      ...this.#options.upstreamOptions,
    });
    if (this.#closing) {
      await client.close();
      return;
    }
    this.#upstream = client;
    const g = (client.greeting as QmpGreeting).QMP;
    // Clients get this QEMU's greeting: a QEMU restarted on the same socket may be another build.
    // The clients of the previous server were disconnected when its QEMU went away.
    const previous = this.#server;
    this.#server = this.#makeServer(g.version, client.oobEnabled ? ['oob'] : []);
    if (previous) void previous.close();
    client.events.on('*', (_ev, text) => this.#fanOut(text));
    client.onClose((reason) => this.#upstreamLost(reason));
    this.#notify({ kind: 'upstream-connected', upstream: this.#upstreamText(), reconnected: this.#upstreamSeen });
    this.#upstreamSeen = true;
    for (const w of this.#upstreamWaiters.splice(0)) w();
  }

  #upstreamText(): string {
    const u = this.#options.upstream;
    return typeof u === 'string' ? u : formatAddress(u);
  }

  #notify(n: QmpProxyNotice): void {
    const fn = this.#options.onNotice;
    if (fn === undefined) return;
    try {
      fn(n);
    } catch (err) {
      // A faulty logger must not take the proxy down.
      traceAnomaly('proxy', 'notice', `onNotice threw: ${String(err)}`, err);
    }
  }

  #makeServer(version: QmpServer['version'], capabilities: string[]): QmpServer {
    // Pipelined: a client's pipelined commands go up pipelined (QEMU runs them in order anyway),
    // and the client stops being read while maxPendingPerClient are unanswered.
    const server = new QmpServer({
      version,
      capabilities,
      dispatch: pipelinedDispatch({ depth: this.#maxPending }),
      throttledEvents: {},
    });
    // Every command is unknown to this server: all go to QEMU.
    server.setFallback((command, _args, ctx) => this.#forward(command, ctx), { allowOob: true });
    return server;
  }

  async #listen(l: QmpProxyListen): Promise<void> {
    const quota: QmpProxyListenerQuota = {
      listener: l.address,
      maxClients: l.maxClients ?? this.#options.maxClientsPerListener ?? this.#maxClients,
      fullAccess: this.#policy.rulesFor(l.address).fullAccess,
    };
    const onConn = (stream: Duplex, cn?: string): void => this.#accept(stream, l.address, cn);
    if (l.tls) {
      // TLS connections hold their slot from the first byte: a handshake that never ends must not
      // be free.
      const admit = (raw: Duplex): boolean => this.#admit(raw, quota) !== undefined;
      const t = await listenTls(l.address, l.tls, (s, peer) => onConn(s, peer.commonName), {
        admit,
        ...(this.#options.handshakeTimeoutMs === undefined
          ? {}
          : { handshakeTimeoutMs: this.#options.handshakeTimeoutMs }),
      });
      this.addresses.push(listenerLabel(t.address, true));
      this.#closers.push(() => t.close());
      this.#warnExposed(t.address, true);
    } else {
      const t = await listenTransport(l.address, {
        onConnection: (s) => {
          if (this.#admit(s, quota) !== undefined) onConn(s);
        },
      });
      this.addresses.push(listenerLabel(t.address, false));
      this.#closers.push(() => t.close());
      this.#warnExposed(t.address, false);
    }
  }

  #warnExposed(address: QmpAddress, tls: boolean): void {
    const reason = exposedListenWarning(address, tls);
    if (reason !== undefined) this.#notify({ kind: 'listener-exposed', listener: listenerLabel(address, tls), reason });
  }

  /** Takes a connection slot for `stream` (given back when it closes), or closes it and says why. */
  #admit(stream: Duplex, quota: QmpProxyListenerQuota): true | undefined {
    const slot = this.#closing || !this.upstreamConnected ? undefined : this.#limits.admit(quota);
    if (slot === undefined || typeof slot === 'string') {
      const reason = this.#closing ? 'the proxy is closing' : (slot ?? 'QEMU is not connected');
      traceAnomaly('proxy', quota.listener, `client refused: ${reason}`);
      this.#notify({ kind: 'client-refused', listener: quota.listener, reason });
      stream.destroy();
      return undefined;
    }
    stream.once('close', () => slot.release());
    return true;
  }

  #accept(stream: Duplex, listener: string, cn: string | undefined): void {
    const server = this.#server;
    // The connection slot was taken when it arrived (#admit).
    if (this.#closing || !server || !this.upstreamConnected) {
      const reason = this.#closing ? 'the proxy is closing' : 'QEMU is not connected';
      traceAnomaly('proxy', listener, `client refused: ${reason}`);
      this.#notify({ kind: 'client-refused', listener, reason });
      stream.destroy();
      return;
    }
    const label = `${listener}#${++this.#clientSeq}${cn === undefined ? '' : `(${cn})`}`;
    const session = server.serve(stream, { label });
    const info = newClientInfo(
      session,
      label,
      listener,
      this.#policy.rulesFor(listener, cn),
      this.#options.negotiationTimeoutMs ?? PROXY_NEGOTIATION_TIMEOUT_MS,
      this.#options.idleTimeoutMs ?? PROXY_IDLE_TIMEOUT_MS,
    );
    this.#clients.set(session, info);
    this.#notify({ kind: 'client-connected', client: label, profile: info.rules.name });
    session.once('close', (err) => {
      info.deadlines.stop();
      this.#clients.delete(session);
      const reason = info.closedBecause ?? (err === undefined ? 'closed by the client' : err.message);
      this.#notify({ kind: 'client-disconnected', client: label, reason });
    });
  }

  async #forward(command: string, ctx: QmpCommandContext): Promise<RawJson> {
    const info = this.#clients.get(ctx.session);
    const audit = commandAudit(this.#audit, () => ({
      client: info?.label ?? ctx.session.label,
      listener: info?.listener ?? '',
      command,
      arguments: auditArguments(command, ctx.arguments, this.#auditCaps),
      oob: ctx.oob,
    }));
    info?.deadlines.touch();
    const denial = info === undefined ? undefined : requestDenial(info.rules, command, ctx.arguments);
    if (denial !== undefined) {
      const err = new QmpCommandError('GenericError', denial);
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
    // A request QEMU could not read as one message once re-encoded (an escape such as \u007f is six
    // bytes for one) is refused before its text is built: encoding it would cost its size again.
    const tooBig =
      ctx.arguments.size === 0 ? undefined : checkValueLimits(command, ctx.arguments as Map<string, QValue>);
    if (tooBig !== undefined) {
      const e = { errorClass: 'GenericError', desc: tooBig.message };
      audit('refused', e);
      throw new QmpCommandError(e.errorClass, e.desc);
    }
    if (info) info.pending++;
    info?.deadlines.commandStarted();
    try {
      // QEMU's own bytes go back: its reply decoded and re-encoded would not keep QEMU's member
      // order. The arguments go up as the client's parser read them.
      const argsText = upstreamArguments(ctx.arguments as Map<string, QValue>);
      // A reply reaches the client a few promise steps after it was read, while events are passed on
      // as they are read: an event QEMU sent after this reply (SHUTDOWN after quit's) waits for it.
      const onReply = (): void => {
        if (!info) return;
        const entry: OutboxEntry = { reply: true, written: false };
        info.outbox.push(entry);
        ctx.onReplyWritten(() => {
          entry.written = true;
          drainOutbox(info);
        });
      };
      // Encoded here, so one object for sure: not decoded again.
      const result = await requestWithFd(up, ctx, command, argsText, { oob: ctx.oob, onReply });
      audit('ok');
      return new RawJson(result);
    } catch (err) {
      const failure = forwardFailure(err);
      if (failure.outcome === 'error' && !(err instanceof QmpCommandError))
        traceAnomaly('proxy', info?.label ?? ctx.session.label, `forwarding ${command} failed: ${failure.desc}`, err);
      audit(failure.outcome, failure);
      if (failure.outcome === 'disconnected') {
        // As when QEMU itself dies: the client's connection drops (its library reports that the
        // command may or may not have run); no error reply claims the command failed.
        if (info) info.closedBecause ??= 'QEMU went away';
        void ctx.session.close(0);
      }
      throw new QmpCommandError(failure.errorClass, failure.desc);
    } finally {
      if (info) info.pending--;
      info?.deadlines.commandDone();
    }
  }

  #fanOut(text: string): void {
    fanOutEvent(this.#clients.values(), text, this.#maxEvents);
  }

  #upstreamLost(reason: QmpError | undefined): void {
    this.#upstream = undefined;
    // In-flight commands already failed (the client library rejects them, never replays them);
    // clients are disconnected so their libraries report the loss the same way.
    const clients = [...this.#clients.values()];
    for (const info of clients) {
      info.closedBecause ??= 'QEMU went away';
      void info.session.close(0);
    }
    const reconnecting = !this.#closing && this.#options.reconnect !== false;
    if (!this.#closing) {
      const why = reason?.message ?? 'closed';
      this.#notify({
        kind: 'upstream-lost',
        upstream: this.#upstreamText(),
        reason: why,
        clients: clients.length,
        reconnecting,
      });
      traceAnomaly('proxy', 'upstream', `upstream lost (${why})${reconnecting ? '; reconnecting' : ''}`);
    }
    if (!reconnecting) return;
    this.#scheduleReconnect(this.#options.reconnectMinMs ?? PROXY_RECONNECT_MIN_MS);
  }

  #scheduleReconnect(delay: number): void {
    const max = this.#options.reconnectMaxMs ?? PROXY_RECONNECT_MAX_MS;
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
    for (const info of this.#clients.values()) info.closedBecause ??= 'the proxy is shutting down';
    for (const c of this.#closers.splice(0)) await c().catch(() => {});
    await this.#server?.close();
    await this.#upstream?.close();
    await this.#audit?.close();
  }
}
