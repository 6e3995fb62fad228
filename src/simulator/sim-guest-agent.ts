import type { Duplex } from 'node:stream';
import { MAX_WAITING_CLIENTS } from '../limits.js';
import { QEMU_PROTOCOL_ERRORS } from '../protocol/index.js';
import type { QapiSchema } from '../schema/qapi-schema.js';
import { checkRequest } from '../server/check-request.js';
import { describeThrown, errorReply, returnReply } from '../server/reply.js';
import { numberKind, toHandlerValue, toSchemaValue } from '../server/to-handler-value.js';
import { traceAnomaly } from '../trace/trace.js';
import { listenTransport, type QmpListenTransport } from '../transport/listen.js';
import type { QValue } from '../wire/q-value.js';
import { QemuJsonParser } from '../wire/qemu-json-parser.js';
import { writeQemuJson } from '../wire/qemu-json-writer.js';
import { SimGuestCommands, type SimGuestHost } from './sim-guest-commands.js';

/** The faults a test (or `-sim-qga-fault`) can put on the simulated agent. */
export interface SimGuestAgentFaults {
  /** qemu-ga is not running in the guest: what is sent waits unread, as in the chardev's socket. */
  notRunning?: boolean;
  /** Each new connection first receives a previous client's unread reply and half of another. */
  staleOnConnect?: boolean;
  /** Every reply is held this long, in ms. */
  replyDelayMs?: number;
  /** Commands disabled as with qemu-ga's `-b`: "Command X has been disabled". */
  blocked?: readonly string[];
}

/** What a previous client left in the channel: a whole reply and a cut-off one. */
export const SIM_STALE_BYTES = '{"return": {}}\n{"return": {"name": "Deb';

/**
 * A simulated qemu-ga behind the VM's `virtserialport` named `org.qemu.guest_agent.0`: the chardev
 * socket serves one client at a time (others wait, as QEMU's does), input goes through QEMU's JSON
 * parser, requests get QEMU's dispatcher checks and the agent's schema checks, replies are written
 * as qemu-ga writes them (`guest-sync-delimited`'s with a leading 0xFF; none for a successful
 * `guest-shutdown`). It answers only while the VM runs and the agent is "running".
 */
export class SimGuestAgent {
  readonly commands: SimGuestCommands;
  readonly #schema: QapiSchema;
  readonly #vmRunning: () => boolean;
  #listener: QmpListenTransport | undefined;
  #current: Duplex | undefined;
  readonly #waiting: Duplex[] = [];
  #faults: Required<SimGuestAgentFaults> = { notRunning: false, staleOnConnect: false, replyDelayMs: 0, blocked: [] };
  #closed = false;

  constructor(schema: QapiSchema, host: SimGuestHost, vmRunning: () => boolean) {
    this.#schema = schema;
    this.#vmRunning = vmRunning;
    this.commands = new SimGuestCommands(schema, host, (name) => this.#faults.blocked.includes(name));
  }

  /** Listens on the chardev's address (`unix:PATH,server=on,wait=off` or `tcp:...`). */
  async listen(address: string): Promise<void> {
    this.#listener = await listenTransport(address, { onConnection: (s) => this.#accept(s) });
  }

  /** The bound address (a TCP port of 0 replaced by the real one). */
  get address(): QmpListenTransport['address'] | undefined {
    return this.#listener?.address;
  }

  /** The faults in force. */
  get faults(): Readonly<Required<SimGuestAgentFaults>> {
    return this.#faults;
  }

  /** Changes faults; members left out keep their value. Starting the agent again reads what waited. */
  setFaults(faults: SimGuestAgentFaults): void {
    this.#faults = { ...this.#faults, ...faults };
    this.refresh();
  }

  /** Writes `bytes` into the channel now, as a reply nobody asked for (a previous client's, ...). */
  injectBytes(bytes: string | Uint8Array): void {
    this.#current?.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  }

  /** Reads or stops reading the channel as the VM and the agent run or stop. */
  refresh(): void {
    const s = this.#current;
    if (s === undefined) return;
    if (this.#answering()) s.resume();
    else s.pause();
  }

  #answering(): boolean {
    return !this.#closed && !this.#faults.notRunning && this.#vmRunning();
  }

  #accept(stream: Duplex): void {
    if (this.#closed) {
      stream.destroy();
      return;
    }
    if (this.#current !== undefined) {
      if (this.#waiting.length >= MAX_WAITING_CLIENTS) {
        traceAnomaly('sim-qga', 'guest agent', 'connection refused: too many clients waiting');
        stream.destroy();
      } else this.#waiting.push(stream);
      return;
    }
    this.#serve(stream);
  }

  #serve(stream: Duplex): void {
    this.#current = stream;
    const parser = new QemuJsonParser();
    // qemu-ga answers one request at a time, in order.
    let chain = Promise.resolve();
    stream.on('data', (chunk: Buffer) => {
      for (const item of parser.push(chunk)) {
        chain = chain.then(() => this.#answer(stream, item));
      }
    });
    const done = (): void => {
      if (this.#current !== stream) return;
      this.#current = undefined;
      stream.destroy();
      const next = this.#waiting.shift();
      if (next !== undefined) this.#serve(next);
    };
    stream.on('end', done);
    stream.on('close', done);
    stream.on('error', done);
    if (this.#faults.staleOnConnect) stream.write(SIM_STALE_BYTES);
    this.refresh();
  }

  async #answer(stream: Duplex, item: { value: QValue } | { error: string }): Promise<void> {
    const out =
      'error' in item
        ? { reply: errorReply('GenericError', item.error, undefined), sentinel: false }
        : this.#dispatch(item.value);
    if (out === undefined) return;
    const delay = this.#faults.replyDelayMs;
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    if (stream.destroyed) return;
    const text = `${writeQemuJson(out.reply)}\n`;
    stream.write(out.sentinel ? Buffer.concat([Buffer.of(0xff), Buffer.from(text)]) : text);
  }

  #dispatch(value: QValue): { reply: Record<string, unknown>; sentinel: boolean } | undefined {
    const checked = checkRequest(value, false);
    if (!checked.ok) return { reply: errorReply('GenericError', checked.desc, checked.id), sentinel: false };
    const { command, id } = checked;
    const cmd = this.#schema.command(command);
    const handler = this.commands.handlers.get(command);
    if (cmd === undefined) {
      return {
        reply: errorReply('CommandNotFound', QEMU_PROTOCOL_ERRORS.commandNotFound(command), id),
        sentinel: false,
      };
    }
    if (this.#faults.blocked.includes(command)) {
      return { reply: errorReply('CommandNotFound', `Command ${command} has been disabled`, id), sentinel: false };
    }
    const bad = this.#schema.validateArguments(command, toSchemaValue(checked.args) as Record<string, unknown>, {
      numberKind,
    });
    if (bad !== undefined) return { reply: errorReply('GenericError', bad.desc, id), sentinel: false };
    if (handler === undefined) {
      return {
        reply: errorReply('GenericError', 'this feature or command is not currently supported', id),
        sentinel: false,
      };
    }
    let result: unknown;
    try {
      result = handler(toHandlerValue(checked.args) as Record<string, unknown>);
    } catch (err) {
      const e = describeThrown(err);
      return { reply: errorReply(e.errorClass, e.desc, id), sentinel: false };
    }
    // guest-shutdown and guest-suspend-* answer only when they fail.
    if (!cmd.successResponse) return undefined;
    return { reply: returnReply(result, id), sentinel: command === 'guest-sync-delimited' };
  }

  /** Closes the chardev: the client's connection ends, as when QEMU exits. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.commands.exec.close();
    for (const s of [this.#current, ...this.#waiting.splice(0)]) s?.destroy();
    this.#current = undefined;
    await this.#listener?.close();
  }
}
