import { createWriteStream, type WriteStream } from 'node:fs';
import type { QmpAuditValue } from './audit-redact.js';

/** One audit record: a JSON line per forwarded (or denied) command. */
export interface QmpAuditRecord {
  time: string;
  client: string;
  listener: string;
  command: string;
  /** The arguments, strings capped and secrets redacted (see {@link auditArguments}); `{}` when none. */
  arguments: QmpAuditValue;
  oob: boolean;
  /** `refused`: QEMU could not have read the request as one message (its input limits); nothing was sent. */
  outcome: 'ok' | 'error' | 'denied' | 'refused' | 'disconnected';
  class?: string;
  desc?: string;
  ms: number;
}

/** Writes audit records as JSON lines to a file (appending) or a callback. */
export class QmpAuditLog {
  readonly #stream: WriteStream | undefined;
  readonly #sink: ((r: QmpAuditRecord) => void) | undefined;

  constructor(target: string | ((r: QmpAuditRecord) => void)) {
    if (typeof target === 'string') this.#stream = createWriteStream(target, { flags: 'a', mode: 0o600 });
    else this.#sink = target;
  }

  write(r: QmpAuditRecord): void {
    this.#sink?.(r);
    this.#stream?.write(`${JSON.stringify(r)}\n`);
  }

  close(): Promise<void> {
    const s = this.#stream;
    if (!s) return Promise.resolve();
    return new Promise((r) => s.end(() => r()));
  }
}

/** How one forwarded command ended, and the error QEMU or the proxy gave it. */
export type QmpCommandAudit = (
  outcome: QmpAuditRecord['outcome'],
  error?: { errorClass: string; desc: string },
) => void;

/**
 * Records how one command ended, timed from this call; without a log it does nothing, and
 * `describe` (which redacts and caps the arguments) is not even called.
 */
export function commandAudit(
  log: QmpAuditLog | undefined,
  describe: () => Pick<QmpAuditRecord, 'client' | 'listener' | 'command' | 'arguments' | 'oob'>,
): QmpCommandAudit {
  const started = Date.now();
  return (outcome, e) =>
    log?.write({
      time: new Date().toISOString(),
      ...describe(),
      outcome,
      ...(e ? { class: e.errorClass, desc: e.desc } : {}),
      ms: Date.now() - started,
    });
}
