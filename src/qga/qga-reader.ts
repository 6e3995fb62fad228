import type { QmpLimitError, QmpProtocolError } from '../errors/qmp-error.js';
import { JsonSplitter, type JsonSplitterOptions } from '../wire/json-splitter.js';
import type { JsonValue } from '../wire/json-value.js';

/** The byte the agent puts before its `guest-sync-delimited` reply. Never part of UTF-8 JSON text. */
export const QGA_SENTINEL = 0xff;

/** What the agent's byte stream holds, in order. */
export type QgaReadItem =
  | { readonly kind: 'value'; readonly value: JsonValue }
  | { readonly kind: 'sentinel' }
  | { readonly kind: 'garbage'; readonly error: QmpLimitError | QmpProtocolError };

/**
 * Splits the agent's byte stream into JSON values and sentinels. A 0xFF byte cannot occur in JSON
 * text, so each one ends whatever was half read before it (a previous client's cut-off reply, a
 * rebooted guest's output): the splitter starts afresh after it, as QEMU's documentation of
 * `guest-sync-delimited` asks of clients.
 */
export class QgaReader {
  readonly #splitter: JsonSplitter;

  constructor(options: JsonSplitterOptions = {}) {
    this.#splitter = new JsonSplitter(options);
  }

  /** Bytes held for a value not yet complete. */
  get bufferedBytes(): number {
    return this.#splitter.bufferedBytes;
  }

  /** Everything complete in `chunk` (with what came before). Never throws. */
  push(chunk: Uint8Array): QgaReadItem[] {
    const out: QgaReadItem[] = [];
    let from = 0;
    for (;;) {
      const at = chunk.indexOf(QGA_SENTINEL, from);
      const part = chunk.subarray(from, at < 0 ? chunk.length : at);
      if (part.length > 0) this.#split(part, out);
      if (at < 0) return out;
      this.#splitter.reset();
      out.push({ kind: 'sentinel' });
      from = at + 1;
    }
  }

  #split(part: Uint8Array, out: QgaReadItem[]): void {
    for (const item of this.#splitter.push(part)) {
      if ('error' in item) out.push({ kind: 'garbage', error: item.error });
      else out.push({ kind: 'value', value: item.value });
    }
  }
}
