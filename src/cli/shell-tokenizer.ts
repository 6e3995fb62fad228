import { QmpUsageError } from '../errors/qmp-error.js';

/**
 * A piece of a word: unquoted text, quoted text, a JSON literal (kept raw), a `{`/`[` that never
 * closes (an error unless the argument is a string), or the key/value `=`.
 */
export type ShellWordPart =
  | { readonly kind: 'plain'; readonly text: string }
  | { readonly kind: 'quoted'; readonly text: string }
  | { readonly kind: 'json'; readonly text: string }
  | { readonly kind: 'unterminated-json'; readonly text: string; readonly message: string }
  | { readonly kind: 'eq' };

/** One whitespace-separated word of a shell line. */
export interface ShellWord {
  /** The word as typed, quotes included. */
  readonly raw: string;
  /** Offset of the word in the line. */
  readonly start: number;
  readonly parts: readonly ShellWordPart[];
  /** True when the line ended inside this word's quote or JSON literal (only with `partial`). */
  readonly open: boolean;
}

const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r';

/**
 * Splits a shell line into words the way a POSIX shell would (single quotes literal, double quotes
 * with `\"` and `\\`, backslash outside quotes), with one addition: a value that starts with `{` or
 * `[` (at the start of a word or right after its first `=`) runs to its matching bracket, spaces and
 * all, and is kept raw for the JSON parser. Unterminated quotes or brackets throw `QmpUsageError`,
 * unless `partial` is set (the completer tokenizes half-typed lines).
 */
export function tokenizeShellLine(line: string, options: { partial?: boolean } = {}): ShellWord[] {
  const words: ShellWord[] = [];
  const n = line.length;
  let i = 0;
  const unterminated = (what: string, at: number): never => {
    throw new QmpUsageError(`Unterminated ${what} starting at column ${at + 1}`);
  };
  while (i < n) {
    while (i < n && isSpace(line[i] ?? '')) i++;
    if (i >= n) break;
    const start = i;
    const parts: ShellWordPart[] = [];
    let plain = '';
    let seenEq = false;
    let valueStart = true;
    let open = false;
    const flush = (): void => {
      if (plain !== '') parts.push({ kind: 'plain', text: plain });
      plain = '';
    };
    while (i < n && !isSpace(line[i] ?? '')) {
      const c = line[i] ?? '';
      if (valueStart && (c === '{' || c === '[')) {
        flush();
        const end = scanJson(line, i);
        if (end === -1) {
          if (options.partial) {
            parts.push({ kind: 'json', text: line.slice(i) });
            i = n;
            open = true;
            break;
          }
          // Not an error yet: where the schema says string, `{x` is just text. The value parser decides.
          let j = i;
          while (j < n && !isSpace(line[j] ?? '')) j++;
          const what = c === '{' ? "JSON object (missing '}')" : "JSON array (missing ']')";
          parts.push({
            kind: 'unterminated-json',
            text: line.slice(i, j),
            message: `Unterminated ${what} starting at column ${i + 1}`,
          });
          i = j;
          break;
        }
        parts.push({ kind: 'json', text: line.slice(i, end) });
        i = end;
        valueStart = false;
        continue;
      }
      valueStart = false;
      if (c === "'") {
        flush();
        const close = line.indexOf("'", i + 1);
        if (close === -1) {
          if (!options.partial) unterminated("quote (')", i);
          parts.push({ kind: 'quoted', text: line.slice(i + 1) });
          i = n;
          open = true;
          break;
        }
        parts.push({ kind: 'quoted', text: line.slice(i + 1, close) });
        i = close + 1;
      } else if (c === '"') {
        flush();
        let text = '';
        let j = i + 1;
        let closed = false;
        while (j < n) {
          const d = line[j] ?? '';
          if (d === '"') {
            closed = true;
            break;
          }
          if (d === '\\' && (line[j + 1] === '"' || line[j + 1] === '\\')) {
            text += line[j + 1];
            j += 2;
            continue;
          }
          text += d;
          j++;
        }
        if (!closed) {
          if (!options.partial) unterminated('quote (")', i);
          open = true;
        }
        parts.push({ kind: 'quoted', text });
        i = closed ? j + 1 : n;
      } else if (c === '\\') {
        const next = line[i + 1];
        if (next === undefined) {
          if (!options.partial) throw new QmpUsageError('Line ends with a lone backslash');
          i++;
        } else {
          plain += next;
          i += 2;
        }
      } else if (c === '=' && !seenEq) {
        flush();
        parts.push({ kind: 'eq' });
        seenEq = true;
        valueStart = true;
        i++;
      } else {
        plain += c;
        i++;
      }
    }
    flush();
    words.push({ raw: line.slice(start, i), start, parts, open });
  }
  return words;
}

/** Index just past the bracket matching the one at `from`, or -1 when the line ends first. */
function scanJson(line: string, from: number): number {
  let depth = 0;
  let i = from;
  while (i < line.length) {
    const c = line[i];
    if (c === '"' || c === "'") {
      i++;
      while (i < line.length && line[i] !== c) i += line[i] === '\\' ? 2 : 1;
      if (i >= line.length) return -1;
    } else if (c === '{' || c === '[') {
      depth++;
    } else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return i + 1;
    }
    i++;
  }
  return -1;
}
