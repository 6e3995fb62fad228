// How `qmpkit exec` and `qmpkit ga` read a command from their arguments: a name with key=value
// words, or a whole line in one argument, plus `--args JSON`.
import { QmpUsageError } from '../errors/qmp-error.js';
import type { JsonObject } from '../wire/json-value.js';

/**
 * True for a whole shell line given as one argument ('device_add driver=e1000') or a pasted QMP
 * command ('{"execute": ...}'): it is read as the shell reads a line.
 */
export function isWholeLine(command: string): boolean {
  return command.trimStart().startsWith('{') || /\s/.test(command.trim());
}

/** Refuses a whole line followed by key=value words: the user meant one or the other. */
export function checkCommandWords(prog: string, command: string, pairs: readonly string[]): void {
  if (isWholeLine(command) && pairs.length > 0) {
    throw new QmpUsageError(
      `${prog}: '${command}' is not a command name; give the command and each key=value as separate arguments, or the whole line as one`,
    );
  }
}

/** The object `--args` gives, or an empty one without it. */
export async function argsOption(prog: string, text: string | undefined): Promise<JsonObject> {
  if (text === undefined) return {};
  // Loaded only when used: a one-shot command without --args loads as little as it can.
  const { parseLooseJson } = await import('./loose-json.js');
  const v = parseLooseJson(text);
  if (typeof v !== 'object' || v === null || Array.isArray(v) || typeof v === 'bigint') {
    throw new QmpUsageError(`${prog}: --args must be a JSON object`);
  }
  return v;
}

/** `--args` with the key=value arguments added; a key given both ways is a usage error. */
export function mergeArguments(prog: string, base: JsonObject, words: JsonObject): JsonObject {
  const args: JsonObject = { ...base };
  for (const [k, v] of Object.entries(words)) {
    if (Object.hasOwn(base, k)) throw new QmpUsageError(`${prog}: "${k}" is set by both --args and key=value`);
    // defineProperty keeps names like __proto__ as members.
    Object.defineProperty(args, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return args;
}
