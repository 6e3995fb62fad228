import { QmpLimitError, QmpUsageError } from '../errors/qmp-error.js';
import { isJsonObject } from '../protocol/guards.js';
import { decodeJson } from '../wire/json-decoder.js';
import { encodeJson, encodeMessage } from '../wire/json-encoder.js';
import type { JsonObject, JsonValue } from '../wire/json-value.js';

/** What one request sends: the command, and its arguments as a value or as JSON text. */
export interface RequestSpec {
  name: string;
  args: JsonObject | undefined;
  /** JSON text; bytes go out as given, beside the envelope rather than copied into one line. */
  argsText: string | Uint8Array | undefined;
  oob: boolean;
  /** Resolve with the text of `return` as the server wrote it (arguments given as text). */
  returnText: boolean;
}

/**
 * A request line as it is written: one string, or pieces written back to back (arguments given as
 * bytes: a large request is not joined into one more copy of itself).
 */
export type RequestLine = string | readonly [string, Uint8Array, string];

/** The request line, with `id` unless it is undefined. */
export function encodeRequest(spec: RequestSpec, id: number | undefined): RequestLine {
  const key = spec.oob ? 'exec-oob' : 'execute';
  // Without arguments (query-status and most queries) the line is written out directly: the same
  // bytes encodeMessage would give, without building and walking an object.
  if (!spec.returnText && spec.args !== undefined) {
    const msg: Record<string, unknown> = { [key]: spec.name };
    if (spec.args !== undefined) msg['arguments'] = spec.args;
    if (id !== undefined) msg['id'] = id;
    return encodeMessage(msg);
  }
  const tail = id === undefined ? '}\n' : `,"id":${id}}\n`;
  if (spec.argsText instanceof Uint8Array)
    return [`{"${key}":${encodeJson(spec.name)},"arguments":`, spec.argsText, tail];
  const args = spec.argsText === undefined ? '' : `,"arguments":${spec.argsText}`;
  return `{"${key}":${encodeJson(spec.name)}${args}${tail}`;
}

/** A rejection unless `text` is exactly one JSON object (whitespace around it aside), or undefined. */
export function checkArgumentsText(name: string, text: string | undefined): Promise<never> | undefined {
  if (text === undefined) return undefined;
  let value: JsonValue;
  try {
    value = decodeJson(text);
  } catch (err) {
    // Too deep to decode is too deep for QEMU too: the limit error says so.
    if (err instanceof QmpLimitError) return Promise.reject(err);
    return Promise.reject(
      new QmpUsageError(`executeText ${name}: the arguments must be exactly one JSON object (${String(err)})`, {
        cause: err,
      }),
    );
  }
  if (!isJsonObject(value))
    return Promise.reject(new QmpUsageError(`executeText ${name}: the arguments must be a JSON object`));
  return undefined;
}
