import { QmpUsageError } from '../errors/qmp-error.js';
import type { JsonObject, JsonValue } from '../wire/json-value.js';
import { parseLooseJson, setMember } from './loose-json.js';
import type { ShellArgTarget, ShellTyper } from './shell-schema.js';
import { type ShellWord, type ShellWordPart, tokenizeShellLine } from './shell-tokenizer.js';
import { parseShellValue } from './shell-value.js';

/** A command ready to send: qmp-shell always sends `arguments`, even when empty. */
export interface ShellCommand {
  readonly execute: string;
  readonly arguments: JsonObject;
}

/** What one input line amounts to. */
export type ShellLineResult =
  /** Blank line outside a transaction. */
  | { readonly kind: 'empty' }
  /** Send this. */
  | { readonly kind: 'execute'; readonly command: ShellCommand }
  /** Inside `transaction(`: the line was taken, nothing to send yet. */
  | { readonly kind: 'pending'; readonly actions: number }
  /** The line is wrong; nothing was sent or queued. The transaction (if any) is still open. */
  | { readonly kind: 'error'; readonly message: string };

const isBare = (w: ShellWord | undefined, text: string): boolean =>
  w !== undefined && w.parts.length === 1 && w.parts[0]?.kind === 'plain' && w.parts[0].text === text;

/**
 * The pure part of the shell: turns lines into QMP commands. Syntax (a superset of QEMU's qmp-shell):
 * `command key=value ...`, dotted keys for nested objects, JSON (or Python-style) literals after `=`,
 * shell quoting, `transaction(` ... `)` over several lines or one, and a raw JSON command line
 * `{"execute": ...}`. It keeps only the open transaction as state. With a typer (the connected QEMU's
 * schema) values take the argument's declared type.
 */
export class ShellLineParser {
  #actions: JsonObject[] | undefined;
  #typer: ShellTyper | undefined;

  constructor(options: { typer?: ShellTyper | undefined } = {}) {
    this.#typer = options.typer;
  }

  /** Sets or clears the schema used to type values. */
  set typer(typer: ShellTyper | undefined) {
    this.#typer = typer;
  }

  /** True between `transaction(` and `)`: the shell shows `TRANS> `. */
  get inTransaction(): boolean {
    return this.#actions !== undefined;
  }

  /** Drops an open transaction (Ctrl-C in the shell). */
  abortTransaction(): void {
    this.#actions = undefined;
  }

  /** Parses one line. Never throws: problems come back as `{ kind: 'error' }`. */
  parse(line: string): ShellLineResult {
    try {
      return this.#parse(line);
    } catch (err) {
      if (err instanceof QmpUsageError) return { kind: 'error', message: err.message };
      throw err;
    }
  }

  #parse(line: string): ShellLineResult {
    if (this.#actions === undefined && line.trimStart().startsWith('{')) return this.#rawJson(line);
    let words = tokenizeShellLine(line);
    if (isBare(words[0], 'transaction(')) {
      if (this.#actions !== undefined) {
        throw new QmpUsageError("Already inside 'transaction(': finish it with ')' or abandon it with Ctrl-C");
      }
      this.#actions = [];
      words = words.slice(1);
    }
    const actions = this.#actions;
    if (actions === undefined) {
      if (words.length === 0) return { kind: 'empty' };
      if (isBare(words[0], ')')) throw new QmpUsageError("')' closes a transaction, but none is open");
      const [first, ...rest] = words;
      const name = commandName(first);
      return {
        kind: 'execute',
        command: { execute: name, arguments: this.#arguments(rest, { kind: 'command', name }) },
      };
    }
    const close = words.findIndex((w) => isBare(w, ')'));
    if (close !== -1 && close !== words.length - 1) {
      throw new QmpUsageError("Unexpected input after ')' that closes the transaction");
    }
    const body = close === -1 ? words : words.slice(0, close);
    if (body.length > 0) {
      const [first, ...rest] = body;
      const type = commandName(first);
      const known = this.#typer?.actionNames?.();
      // Refused here, the line is lost but the transaction stays open for a corrected one.
      if (known !== undefined && known.length > 0 && !known.includes(type)) {
        throw new QmpUsageError(`Unknown transaction action '${type}' (actions: ${known.join(', ')})`);
      }
      actions.push({ type, data: this.#arguments(rest, { kind: 'action', name: type }) });
    }
    if (close === -1) return { kind: 'pending', actions: actions.length };
    this.#actions = undefined;
    return { kind: 'execute', command: { execute: 'transaction', arguments: { actions } } };
  }

  /**
   * Builds a command from words a shell has already split (`qmpkit exec ... key=value`): each element
   * is one `key=value` taken literally, no further quoting, with the same values as a shell line
   * (JSON after `=` if it starts with `{`/`[`, else booleans, `null`, numbers, strings, typed by the schema).
   */
  parseWords(command: string, words: readonly string[]): ShellLineResult {
    try {
      const split: ShellWord[] = words.map((raw) => {
        const eq = raw.indexOf('=');
        if (eq === -1) return { raw, start: 0, parts: [{ kind: 'plain', text: raw }], open: false };
        const value = raw.slice(eq + 1);
        const valuePart: ShellWordPart =
          value.startsWith('{') || value.startsWith('[')
            ? { kind: 'json', text: value }
            : { kind: 'plain', text: value };
        const parts: ShellWordPart[] = [{ kind: 'plain', text: raw.slice(0, eq) }, { kind: 'eq' }];
        if (value !== '') parts.push(valuePart);
        return { raw, start: 0, parts, open: false };
      });
      return {
        kind: 'execute',
        command: { execute: command, arguments: this.#arguments(split, { kind: 'command', name: command }) },
      };
    } catch (err) {
      if (err instanceof QmpUsageError) return { kind: 'error', message: err.message };
      throw err;
    }
  }

  #rawJson(line: string): ShellLineResult {
    const value = parseLooseJson(line.trim());
    if (typeof value !== 'object' || value === null || Array.isArray(value) || typeof value === 'bigint') {
      throw new QmpUsageError('A JSON command line must be an object');
    }
    const name = value['execute'];
    const args = value['arguments'];
    const extra = Object.keys(value).filter((k) => k !== 'execute' && k !== 'arguments');
    if (typeof name !== 'string') throw new QmpUsageError('A JSON command line needs "execute": "<command>"');
    if (extra.length > 0)
      throw new QmpUsageError(`A JSON command line takes only "execute" and "arguments", not "${extra[0]}"`);
    if (
      args !== undefined &&
      (typeof args !== 'object' || args === null || Array.isArray(args) || typeof args === 'bigint')
    ) {
      throw new QmpUsageError('"arguments" must be an object');
    }
    return { kind: 'execute', command: { execute: name, arguments: args ?? {} } };
  }

  #arguments(words: readonly ShellWord[], target: ShellArgTarget): JsonObject {
    const root: JsonObject = {};
    // Objects made by dotted keys can grow; objects typed as JSON values are leaves.
    const branches = new WeakSet<JsonObject>();
    for (const word of words) {
      const eq = word.parts.findIndex((p) => p.kind === 'eq');
      if (eq === -1) throw new QmpUsageError(`Expected a key=value pair, got '${word.raw}'`);
      const key = word.parts
        .slice(0, eq)
        .map((p) => {
          if (p.kind === 'unterminated-json') throw new QmpUsageError(p.message);
          return p.kind === 'eq' ? '=' : p.text;
        })
        .join('');
      const path = key.split('.');
      if (key === '' || path.some((s) => s === '')) {
        throw new QmpUsageError(`Invalid key '${key}' in '${word.raw}': empty name`);
      }
      const value = parseShellValue(word.parts.slice(eq + 1), this.#typer?.typeAt(target, path, root));
      setPath(root, path, value, key, branches);
    }
    return root;
  }
}

function commandName(word: ShellWord | undefined): string {
  if (word === undefined) throw new QmpUsageError('Expected a command name');
  if (word.parts.some((p) => p.kind !== 'plain' && p.kind !== 'quoted')) {
    throw new QmpUsageError(`Expected a command name, got '${word.raw}'`);
  }
  return word.parts.map((p) => (p.kind === 'plain' || p.kind === 'quoted' ? p.text : '')).join('');
}

const isPlainObject = (v: JsonValue | undefined): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && typeof v !== 'bigint';

function setPath(
  root: JsonObject,
  path: readonly string[],
  value: JsonValue,
  key: string,
  branches: WeakSet<JsonObject>,
): void {
  let obj = root;
  for (let i = 0; i < path.length - 1; i++) {
    const seg = path[i] ?? '';
    const prefix = path.slice(0, i + 1).join('.');
    if (!Object.hasOwn(obj, seg)) {
      const branch: JsonObject = {};
      branches.add(branch);
      setMember(obj, seg, branch);
    }
    const next = obj[seg];
    if (!isPlainObject(next) || !branches.has(next)) {
      throw new QmpUsageError(`Cannot use "${prefix}" as both leaf and non-leaf key`);
    }
    obj = next;
  }
  const last = path[path.length - 1] ?? '';
  if (Object.hasOwn(obj, last)) {
    const existing = obj[last];
    if (isPlainObject(existing) && branches.has(existing)) {
      throw new QmpUsageError(`Cannot use "${key}" as both leaf and non-leaf key`);
    }
    throw new QmpUsageError(`Cannot set "${key}" multiple times`);
  }
  setMember(obj, last, value);
}
