// The shell's output: JSON as qmp-shell prints it, lines printed above a showing prompt, and the
// \`-l\` exchange log.
import { closeSync, openSync, writeSync } from 'node:fs';
import { clearScreenDown, cursorTo, type Interface, moveCursor } from 'node:readline';
import type { JsonValue } from '../wire/json-value.js';
import type { CliIo } from './cli-io.js';
import { readlineRedrawRows } from './readline-rows.js';
import { renderJson } from './render-json.js';
import type { ShellReply } from './shell-connection.js';

/** What went wrong, as one line. */
export function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Where the shell writes: the terminal (or pipes) and the optional log file. */
export class ShellOutput {
  readonly #io: CliIo;
  readonly #tty: boolean;
  readonly #pretty: boolean;
  #logFd: number | undefined;

  constructor(io: CliIo, tty: boolean, pretty: boolean) {
    this.#io = io;
    this.#tty = tty;
    this.#pretty = pretty;
  }

  /** Opens (truncates) the \`-l\` file. @throws the open error. */
  openLog(path: string): void {
    this.#logFd = openSync(path, 'w');
  }

  closeLog(): void {
    if (this.#logFd !== undefined) closeSync(this.#logFd);
    this.#logFd = undefined;
  }

  /** A value as the shell prints it: qmp-shell's spacing, or `-p`'s sorted indented form. */
  json(value: JsonValue | ShellReply): string {
    const v = value as JsonValue;
    return this.#pretty
      ? renderJson(v, { style: 'pretty', indent: 4, sortKeys: true })
      : renderJson(v, { style: 'spaced' });
  }

  /** Appends one exchange to the `-l` file, if any; a write failure is reported once and ends logging. */
  log(entry: JsonValue | object): void {
    if (this.#logFd === undefined) return;
    try {
      writeSync(this.#logFd, `${renderJson(entry as JsonValue)}\n`);
    } catch (err) {
      this.#io.stderr.write(`Cannot write log file: ${describe(err)}\n`);
      this.#logFd = undefined;
    }
  }

  /**
   * Prints a line; when the prompt is showing (`prompt` given), above it, and redraws the prompt
   * with the typed text.
   */
  print(text: string, stream: 'stdout' | 'stderr', prompt: Interface | undefined): void {
    const out = this.#io[stream];
    const rl = prompt;
    if (!this.#tty || rl === undefined) {
      out.write(`${text}\n`);
      return;
    }
    const stdout = this.#io.stdout;
    const rows = rl.getCursorPos().rows;
    moveCursor(stdout, 0, -rows);
    cursorTo(stdout, 0);
    clearScreenDown(stdout);
    out.write(`${text}\n`);
    // Before redrawing, readline moves up by the rows it recorded at its last redraw: give it exactly
    // those rows so the prompt lands below the text.
    stdout.write('\n'.repeat(readlineRedrawRows(rl, rows)));
    rl.prompt(true);
  }
}
