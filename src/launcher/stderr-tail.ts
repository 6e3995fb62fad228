/**
 * Keeps the last lines QEMU wrote to stderr, for error reports. Bounded by lines and by bytes per
 * line so a process that prints without newlines cannot grow it without limit.
 */
export class StderrTail {
  readonly #maxLines: number;
  readonly #maxLineChars: number;
  readonly #lines: string[] = [];
  #partial = '';

  constructor(maxLines: number, maxLineChars = 4096) {
    this.#maxLines = maxLines;
    this.#maxLineChars = maxLineChars;
  }

  /** Adds a chunk of stderr text. */
  push(chunk: string): void {
    const parts = (this.#partial + chunk).split('\n');
    this.#partial = (parts.pop() ?? '').slice(0, this.#maxLineChars);
    for (const line of parts) {
      this.#lines.push(line.replace(/\r$/, '').slice(0, this.#maxLineChars));
      if (this.#lines.length > this.#maxLines) this.#lines.shift();
    }
  }

  /** The kept lines (and an unfinished last line), joined with newlines. */
  text(): string {
    const lines = this.#partial === '' ? this.#lines : [...this.#lines, this.#partial];
    return lines.slice(-this.#maxLines).join('\n');
  }
}
