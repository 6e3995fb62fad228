import { QmpUsageError } from '../errors/qmp-error.js';
import { MAX_DEPTH } from '../limits.js';
import type { JsonObject, JsonValue } from '../wire/json-value.js';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Sets an own member even for names like `__proto__`, which plain assignment would swallow. */
export function setMember(obj: JsonObject, key: string, value: JsonValue): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Parses a JSON value as typed on a shell line. Besides strict JSON it takes what QEMU's qmp-shell
 * users type from Python habit: single-quoted strings, `True`/`False`/`None`, and trailing commas.
 * Integers beyond ±(2^53−1) become `bigint` so `size=18446744073709551615` survives exactly.
 * Throws `QmpUsageError` naming the position of the first problem.
 */
export function parseLooseJson(text: string, maxDepth: number = MAX_DEPTH): JsonValue {
  let pos = 0;

  const fail = (what: string): never => {
    throw new QmpUsageError(`Invalid JSON value '${text}': ${what} at offset ${pos}`);
  };
  const skipWs = (): void => {
    while (pos < text.length && /\s/.test(text[pos] ?? '')) pos++;
  };

  const parseString = (quote: string): string => {
    pos++;
    let out = '';
    for (;;) {
      const c = text[pos];
      if (c === undefined) return fail(`unterminated string`);
      if (c === quote) {
        pos++;
        return out;
      }
      if (c === '\\') {
        const e = text[pos + 1];
        pos += 2;
        switch (e) {
          case '"':
          case "'":
          case '\\':
          case '/':
            out += e;
            break;
          case 'b':
            out += '\b';
            break;
          case 'f':
            out += '\f';
            break;
          case 'n':
            out += '\n';
            break;
          case 'r':
            out += '\r';
            break;
          case 't':
            out += '\t';
            break;
          case 'u': {
            const hex = text.slice(pos, pos + 4);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) return fail('bad \\u escape');
            out += String.fromCharCode(Number.parseInt(hex, 16));
            pos += 4;
            break;
          }
          default:
            pos -= 2;
            return fail(`bad escape '\\${e ?? ''}'`);
        }
        continue;
      }
      out += c;
      pos++;
    }
  };

  const parseNumber = (): JsonValue => {
    const m = /^-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/.exec(text.slice(pos));
    if (m === null) return fail('expected a value');
    pos += m[0].length;
    if (m[1] === undefined && m[2] === undefined) {
      const big = BigInt(m[0]);
      return big > MAX_SAFE || big < -MAX_SAFE ? big : Number(m[0]);
    }
    return Number(m[0]);
  };

  const parseValue = (depth: number): JsonValue => {
    skipWs();
    const c = text[pos];
    if (c === '{' || c === '[') {
      if (depth >= maxDepth) return fail(`nesting deeper than ${maxDepth}`);
      return c === '{' ? parseObject(depth + 1) : parseArray(depth + 1);
    }
    if (c === '"' || c === "'") return parseString(c);
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return parseNumber();
    const word = /^[A-Za-z]+/.exec(text.slice(pos))?.[0] ?? '';
    const words: Record<string, JsonValue> = {
      true: true,
      false: false,
      null: null,
      True: true,
      False: false,
      None: null,
    };
    if (Object.hasOwn(words, word)) {
      pos += word.length;
      return words[word] ?? null;
    }
    return fail(c === undefined ? 'unexpected end' : `unexpected '${c}'`);
  };

  const parseArray = (depth: number): JsonValue[] => {
    pos++;
    const out: JsonValue[] = [];
    for (;;) {
      skipWs();
      if (text[pos] === ']') {
        pos++;
        return out;
      }
      out.push(parseValue(depth));
      skipWs();
      if (text[pos] === ',') pos++;
      else if (text[pos] !== ']') return fail("expected ',' or ']'");
    }
  };

  const parseObject = (depth: number): JsonObject => {
    pos++;
    const out: JsonObject = {};
    for (;;) {
      skipWs();
      if (text[pos] === '}') {
        pos++;
        return out;
      }
      const q = text[pos];
      if (q !== '"' && q !== "'") return fail('expected a quoted member name');
      const key = parseString(q);
      skipWs();
      if (text[pos] !== ':') return fail("expected ':'");
      pos++;
      setMember(out, key, parseValue(depth));
      skipWs();
      if (text[pos] === ',') pos++;
      else if (text[pos] !== '}') return fail("expected ',' or '}'");
    }
  };

  const value = parseValue(0);
  skipWs();
  if (pos !== text.length) fail(`unexpected '${text[pos] ?? ''}' after the value`);
  return value;
}
