import type { JsonObject } from '../wire/json-value.js';
import { setMember } from './loose-json.js';
import type { ShellArgTarget, ShellSchema } from './shell-schema.js';
import { type ShellWord, type ShellWordPart, tokenizeShellLine } from './shell-tokenizer.js';

/** Node's readline completer result: candidates, and the tail of the line they replace. */
export type CompletionResult = [string[], string];

const partText = (p: ShellWordPart): string => (p.kind === 'eq' ? '=' : p.text);

/** Builds a best-effort object of what the other words already set (for union branches and to skip used keys). */
function givenArguments(words: readonly ShellWord[]): JsonObject {
  const root: JsonObject = {};
  for (const w of words) {
    const eq = w.parts.findIndex((p) => p.kind === 'eq');
    if (eq === -1) continue;
    const path = w.parts.slice(0, eq).map(partText).join('').split('.');
    const value = w.parts
      .slice(eq + 1)
      .map(partText)
      .join('');
    let obj = root;
    for (const seg of path.slice(0, -1)) {
      const next = obj[seg];
      if (typeof next === 'object' && next !== null && !Array.isArray(next) && typeof next !== 'bigint') obj = next;
      else {
        const fresh: JsonObject = {};
        setMember(obj, seg, fresh);
        obj = fresh;
      }
    }
    setMember(obj, path[path.length - 1] ?? '', value);
  }
  return root;
}

/**
 * Tab completion for the QMP shell: command names (and `transaction(`) in first position, action
 * names inside a transaction, then, with a schema, argument names (nested with dots, union members
 * of the branch chosen so far) and enum or boolean values after `=`. Pure: no I/O.
 */
export class ShellCompleter {
  readonly #schema: ShellSchema | undefined;
  readonly #commands: readonly string[];

  /** `commands` is used when there is no schema (from `query-commands`). */
  constructor(options: { schema?: ShellSchema | undefined; commands?: readonly string[] }) {
    this.#schema = options.schema;
    this.#commands = options.schema?.commandNames() ?? [...(options.commands ?? [])].sort();
  }

  /** Completes `line` (the text before the cursor). `inTransaction` is the shell's TRANS> mode. */
  complete(line: string, inTransaction: boolean): CompletionResult {
    let words: ShellWord[];
    try {
      words = tokenizeShellLine(line, { partial: true });
    } catch {
      return [[], line];
    }
    const last = words[words.length - 1];
    const atNewWord = last === undefined || (!last.open && /\s$/.test(line));
    const current = atNewWord ? undefined : last;
    const before = current === undefined ? words : words.slice(0, -1);
    const prefix = current?.raw ?? '';
    let trans = inTransaction;
    let rest = before;
    if (rest[0]?.raw === 'transaction(') {
      trans = true;
      rest = rest.slice(1);
    }
    if (rest.length === 0) {
      const names = trans ? [...(this.#schema?.actionNames() ?? []), ')'] : [...this.#commands, 'transaction('];
      return [names.filter((n) => n.startsWith(prefix)), prefix];
    }
    const schema = this.#schema;
    const head = rest[0];
    if (schema === undefined || head === undefined || current?.parts.some((p) => p.kind === 'json'))
      return [[], prefix];
    const target: ShellArgTarget = { kind: trans ? 'action' : 'command', name: head.raw };
    const given = givenArguments(rest.slice(1));
    const eq = current?.parts.findIndex((p) => p.kind === 'eq') ?? -1;
    if (current !== undefined && eq !== -1) {
      const key = current.parts.slice(0, eq).map(partText).join('');
      const typed = current.parts
        .slice(eq + 1)
        .map(partText)
        .join('');
      const info = schema.typeAt(target, key.split('.'), given);
      if (info === undefined) return [[], prefix];
      const values = [...info.enumValues];
      if (info.kinds.has('boolean')) values.push('true', 'false');
      if (info.kinds.has('null')) values.push('null');
      const keyRaw = current.raw.slice(0, current.raw.indexOf('=') + 1);
      return [values.filter((v) => v.startsWith(typed)).map((v) => `${keyRaw}${v}`), prefix];
    }
    const path = prefix.split('.');
    const parent = path.slice(0, -1);
    const used = parent.reduce<JsonObject | undefined>((o, seg) => {
      const next = o?.[seg];
      return typeof next === 'object' && next !== null && !Array.isArray(next) && typeof next !== 'bigint'
        ? next
        : undefined;
    }, given);
    const out: string[] = [];
    for (const name of schema.memberNames(target, parent, given)) {
      if (used !== undefined && Object.hasOwn(used, name)) continue;
      const full = [...parent, name].join('.');
      if (!full.startsWith(prefix)) continue;
      const kinds = schema.typeAt(target, [...parent, name], given)?.kinds;
      const objectOnly = kinds !== undefined && kinds.size === 1 && kinds.has('object');
      out.push(objectOnly ? `${full}.` : `${full}=`);
    }
    return [out.sort(), prefix];
  }
}

/**
 * Completion candidates for the HMP shell from the text of HMP's `help` and `info`: command names
 * (the long form of `name|n`), `help NAME`, and `info SUBCOMMAND`, like QEMU's qmp-shell offers.
 */
export function hmpCompletions(helpText: string, infoText: string): string[] {
  const out = new Set<string>(['help info']);
  for (const line of helpText.split(/\r?\n/)) {
    if (line === '' || line.startsWith('[') || line.startsWith('\t') || line.startsWith(' ')) continue;
    const first = line.split(/\s+/)[0] ?? '';
    if (first === '' || first === 'info') continue;
    const alts = first.split('|');
    const name = alts.reduce((a, b) => (b.length > a.length ? b : a), '');
    out.add(name);
    out.add(`help ${name}`);
  }
  for (const line of infoText.split(/\r?\n/)) {
    const sub = line.split(/\s+/)[1];
    if (line.startsWith('info ') && sub !== undefined && sub !== '') out.add(`info ${sub}`);
  }
  return [...out].sort();
}
