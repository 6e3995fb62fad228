// Code blocks of the Markdown docs, with the `<!-- doctest: ... -->` marker that may stand on the line
// right before a fence (the convention is described in CONTRIBUTING.md):
//   (none)                    a ts/js block is type-checked as a user's module; other blocks are left alone
//   <!-- doctest: sketch -->  a fragment: neither checked nor run
//   <!-- doctest: run -->     a ts/js block is type-checked and run against a fresh simulator; a sh block
//                             of `$ command` lines followed by their output, or a qmp-shell transcript
//                             (`(QEMU) command` lines), is replayed and its output compared
//   <!-- doctest: run-qemu --> a ts/js block is type-checked and run with qemu-system-x86_64 on the PATH
//                             (skipped without QEMU)
// In a block that runs, the address `/tmp/qmp.sock` stands for the simulator's monitor.
import { readFileSync } from 'node:fs';

export type DocBlockMode = 'check' | 'sketch' | 'run' | 'run-qemu' | 'none';

export interface DocBlock {
  /** The document, relative to the project root (`docs/client.md`). */
  readonly doc: string;
  /** The fence's info string: `ts`, `sh`, `text`, ... */
  readonly lang: string;
  /** 1-based line, in the document, of the block's first line of code. */
  readonly firstLine: number;
  readonly code: string;
  readonly mode: DocBlockMode;
}

/** The placeholder for the simulator's monitor in blocks that run. */
export const DOC_ADDRESS = '/tmp/qmp.sock';

const MARKER = /^<!--\s*doctest:\s*(\S+)\s*-->\s*$/;
const CODE_LANGS = new Set(['ts', 'typescript', 'js', 'javascript', 'mts', 'mjs']);

export function isCodeLang(lang: string): boolean {
  return CODE_LANGS.has(lang);
}

/** Every fenced block of a document, in order, with its marker read. */
export function docBlocks(root: string, doc: string): DocBlock[] {
  const lines = readFileSync(`${root}/${doc}`, 'utf8').split('\n');
  const out: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i] ?? '');
    if (open === null) continue;
    let end = i + 1;
    while (end < lines.length && !(lines[end] ?? '').startsWith('```')) end++;
    const lang = open[1] ?? '';
    const marker = MARKER.exec(lines[i - 1] ?? '');
    let mode: DocBlockMode = isCodeLang(lang) ? 'check' : 'none';
    if (marker !== null) {
      const word = marker[1];
      if (word !== 'sketch' && word !== 'run' && word !== 'run-qemu')
        throw new Error(`${doc}:${i}: unknown doctest marker '${word}'`);
      mode = word;
    }
    out.push({ doc, lang, firstLine: i + 2, code: lines.slice(i + 1, end).join('\n'), mode });
    i = end;
  }
  return out;
}

export interface SessionStep {
  /** 1-based line of the `$ ` line in the document. */
  readonly line: number;
  readonly command: string;
  readonly expected: readonly string[];
}

/** A shell session: each `$ command` line and the output lines after it. */
export function sessionSteps(block: DocBlock): SessionStep[] {
  const steps: { line: number; command: string; expected: string[] }[] = [];
  block.code.split('\n').forEach((text, k) => {
    if (text.startsWith('$ ')) steps.push({ line: block.firstLine + k, command: text.slice(2), expected: [] });
    else steps.at(-1)?.expected.push(text);
  });
  return steps;
}

/** Whether `actual` is `expected`, where `...` in an expected line stands for any text. */
export function outputMatches(expected: string, actual: string): boolean {
  const pattern = expected
    .split('...')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*?');
  return new RegExp(`^${pattern}$`).test(actual);
}

const SHELL_PROMPT = /^(\(QEMU\)|TRANS>)( |$)/;

/** Whether a block is a qmp-shell transcript (`(QEMU) command` lines, the replies after them). */
export function isShellTranscript(block: DocBlock): boolean {
  return block.code.split('\n').some((l) => SHELL_PROMPT.test(l));
}

/**
 * A qmp-shell transcript as the lines to type and the output a piped shell prints: the same as on a
 * terminal, without the prompts (a bare prompt at the end is where the user stopped typing).
 */
export function shellTranscript(block: DocBlock): { input: string[]; expected: string[] } {
  const input: string[] = [];
  const expected: string[] = [];
  for (const line of block.code.split('\n')) {
    const m = SHELL_PROMPT.exec(line);
    if (m === null) expected.push(line);
    else if (line.length > (m[1] ?? '').length) input.push(line.slice((m[1] ?? '').length + 1));
  }
  return { input, expected };
}

/** Event timestamps vary from run to run: both sides get the same one before comparing. */
export function normalizeTimestamps(text: string): string {
  return text.replace(
    /"timestamp": ?\{"seconds": ?\d+, ?"microseconds": ?\d+\}/g,
    '"timestamp": {"seconds": 0, "microseconds": 0}',
  );
}
