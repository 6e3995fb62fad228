import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** Where qmp-shell keeps its history: the same file as QEMU's qmp-shell, so both share it. */
export function defaultHistoryPath(env: Readonly<Record<string, string | undefined>>): string {
  return join(env['HOME'] ?? homedir(), '.qmp-shell_history');
}

/**
 * Reads a history file written by GNU readline (one entry per line, oldest first; `#<seconds>`
 * timestamp lines skipped) or by libedit (`_HiStOrY_V2_` header, `\040` escapes). Returns newest
 * first, as Node's readline wants, at most `size` entries. A missing file is an empty history.
 */
export function loadHistory(path: string, size: number): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  let lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines[0] === '_HiStOrY_V2_') {
    lines = lines
      .slice(1)
      .map((l) => l.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(Number.parseInt(o, 8))));
  }
  return lines
    .filter((l) => l !== '' && !/^#\d+$/.test(l))
    .slice(-size)
    .reverse();
}

/**
 * Writes history (given newest first) oldest first, GNU readline style, keeping the newest `size`
 * entries. Mode 0600: lines can hold passwords (`set_password`). Written to a temp file and renamed so
 * a crash never leaves half a file. Returns false when it could not be written.
 */
export function saveHistory(path: string, newestFirst: readonly string[], size: number): boolean {
  const lines = newestFirst.slice(0, size).reverse();
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(tmp, lines.length === 0 ? '' : `${lines.join('\n')}\n`, { mode: 0o600 });
    renameSync(tmp, path);
    return true;
  } catch {
    return false;
  }
}
