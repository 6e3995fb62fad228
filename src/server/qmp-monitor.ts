import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { QmpCapability } from '../protocol/index.js';
import { traceAnomaly } from '../trace/index.js';
import { formatAddress, listenTransport, type QmpAddress, type QmpListenTransport } from '../transport/index.js';
import type { QmpServerSession } from './types.js';

/** What a monitor needs from its server. Internal: the server implements it. */
export interface QmpMonitorHost {
  readonly maxWaitingClients: number;
  startSession(stream: Duplex, monitor: QmpMonitor): QmpServerSession;
  monitorClosed(monitor: QmpMonitor): void;
}

/** Events of a {@link QmpMonitor}. */
export interface QmpMonitorEvents {
  /** A client's session started (it got its greeting). */
  session: [session: QmpServerSession];
}

/**
 * One listening address of a server, like one `-qmp`/`-mon` of QEMU: it serves one client at a time.
 * Further clients are accepted by the kernel but wait, unread and ungreeted, until the current one
 * leaves; then the oldest waiting client gets its greeting and its already-sent bytes are read.
 * At most `maxWaitingClients` wait; more are disconnected at once (QEMU's listen backlog refuses
 * them instead).
 */
export class QmpMonitor extends EventEmitter<QmpMonitorEvents> {
  /** The address bound (a TCP port 0 replaced by the real port). */
  readonly address: QmpAddress;
  /** Label used for sessions and traces: the address in QEMU syntax. */
  readonly label: string;
  /** `pretty=on` for this monitor's output. */
  readonly pretty: boolean;
  /** Capabilities offered by this monitor (`undefined`: the server's). */
  readonly capabilities: readonly QmpCapability[] | undefined;

  readonly #host: QmpMonitorHost;
  #transport: QmpListenTransport | undefined;
  #session: QmpServerSession | undefined;
  readonly #waiting: Duplex[] = [];
  #closing: Promise<void> | undefined;

  private constructor(
    host: QmpMonitorHost,
    address: QmpAddress,
    label: string,
    options: { pretty: boolean; capabilities: readonly QmpCapability[] | undefined },
  ) {
    super();
    this.#host = host;
    this.address = address;
    this.label = label;
    this.pretty = options.pretty;
    this.capabilities = options.capabilities === undefined ? undefined : Object.freeze([...options.capabilities]);
  }

  /** @internal Use {@link QmpServer.listen}. */
  static async open(
    host: QmpMonitorHost,
    address: string | QmpAddress,
    options: { pretty: boolean; label: string | undefined; capabilities: readonly QmpCapability[] | undefined },
  ): Promise<QmpMonitor> {
    let monitor: QmpMonitor | undefined;
    const early: Duplex[] = [];
    const transport = await listenTransport(address, {
      onConnection: (stream) => {
        if (monitor === undefined) early.push(stream);
        else monitor.#accept(stream);
      },
    });
    monitor = new QmpMonitor(host, transport.address, options.label ?? formatAddress(transport.address), options);
    monitor.#transport = transport;
    for (const s of early) monitor.#accept(s);
    return monitor;
  }

  /** The client being served, if any. */
  get session(): QmpServerSession | undefined {
    return this.#session;
  }

  /** Number of connected clients waiting for their turn. */
  get waitingClients(): number {
    return this.#waiting.length;
  }

  /**
   * Resolves with the client being served, or the next one to connect. A simulator models QEMU's
   * `wait=on` (QEMU blocks at start-up until the first client connects) by awaiting this.
   */
  waitForClient(): Promise<QmpServerSession> {
    const current = this.#session;
    if (current !== undefined) return Promise.resolve(current);
    return new Promise((resolve) => this.once('session', resolve));
  }

  /** Stops listening, closes the current session and disconnects waiting clients. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const transport = this.#transport;
      const closes: Promise<void>[] = [];
      for (const w of this.#waiting.splice(0)) w.destroy();
      if (this.#session !== undefined) closes.push(this.#session.close());
      if (transport !== undefined) closes.push(transport.close());
      await Promise.all(closes);
      this.#host.monitorClosed(this);
    })();
    return this.#closing;
  }

  #accept(stream: Duplex): void {
    if (this.#closing !== undefined) {
      stream.destroy();
      return;
    }
    if (this.#session === undefined) {
      this.#start(stream);
      return;
    }
    if (this.#waiting.length >= this.#host.maxWaitingClients) {
      traceAnomaly(
        'server',
        this.label,
        `more than maxWaitingClients (${this.#host.maxWaitingClients}) waiting: connection refused`,
      );
      stream.destroy();
      return;
    }
    // Unread and ungreeted until its turn; a reset while waiting must not crash the process.
    stream.pause();
    const onGone = (): void => {
      const i = this.#waiting.indexOf(stream);
      if (i !== -1) this.#waiting.splice(i, 1);
    };
    stream.on('error', () => {});
    stream.once('close', onGone);
    this.#waiting.push(stream);
  }

  #start(stream: Duplex): void {
    const session = this.#host.startSession(stream, this);
    this.#session = session;
    session.once('close', () => {
      if (this.#session === session) this.#session = undefined;
      // The next client is greeted once every listener has seen this one leave (QEMU's fd sets, for
      // one, are cleaned up between the two).
      queueMicrotask(() => {
        if (this.#closing !== undefined || this.#session !== undefined) return;
        let next = this.#waiting.shift();
        while (next?.destroyed) next = this.#waiting.shift();
        if (next !== undefined) this.#start(next);
      });
    });
    this.emit('session', session);
  }
}
