// Reading pieces out of JSON text without decoding it: a pass-through (the proxy) forwards QEMU's
// own bytes, because decoding and re-encoding a QEMU reply does not give its bytes back (QEMU's key
// order depends on the insertion order it had, which the text does not carry).

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** The index just past the string literal that starts at `i` (a quote). */
function skipString(text: string, i: number): number {
  const n = text.length;
  let j = i + 1;
  while (j < n) {
    const c = text.charCodeAt(j);
    if (c === BACKSLASH) j += 2;
    else if (c === QUOTE) return j + 1;
    else j++;
  }
  return n;
}

/** The index of the `,` or closing bracket that ends the value starting at `i` (or the text's end). */
function valueEnd(text: string, i: number): number {
  const n = text.length;
  let depth = 0;
  for (let j = i; j < n; ) {
    const c = text.charCodeAt(j);
    if (c === QUOTE) {
      j = skipString(text, j);
      continue;
    }
    if (c === LBRACE || c === LBRACKET) depth++;
    else if (c === RBRACE || c === RBRACKET) {
      if (depth === 0) return j;
      depth--;
    } else if (c === COMMA && depth === 0) return j;
    j++;
  }
  return n;
}

/**
 * The text of member `key` of the JSON object `text` (its top level only), trimmed, or `undefined`
 * when there is none. `text` must be valid JSON (as a JSON writer made it); `key` is compared with
 * the key's text as written, so it must need no escapes.
 */
export function jsonMemberText(text: string, key: string): string | undefined {
  const n = text.length;
  let i = 0;
  while (i < n && isSpace(text.charCodeAt(i))) i++;
  if (text.charCodeAt(i) !== LBRACE) return undefined;
  i++;
  for (;;) {
    while (i < n && isSpace(text.charCodeAt(i))) i++;
    if (i >= n || text.charCodeAt(i) !== QUOTE) return undefined;
    const keyEnd = skipString(text, i);
    const found = keyEnd - i - 2 === key.length && text.startsWith(key, i + 1);
    i = keyEnd;
    while (i < n && isSpace(text.charCodeAt(i))) i++;
    if (text.charCodeAt(i) !== COLON) return undefined;
    i++;
    while (i < n && isSpace(text.charCodeAt(i))) i++;
    const end = valueEnd(text, i);
    if (found) {
      let e = end;
      while (e > i && isSpace(text.charCodeAt(e - 1))) e--;
      return text.slice(i, e);
    }
    if (end >= n || text.charCodeAt(end) !== COMMA) return undefined;
    i = end + 1;
  }
}

/**
 * QEMU's compact form of its own `pretty=on` text: line breaks and the indentation after them go,
 * and a `,` that ended a line gets the single space QEMU's compact writer puts there. Strings are
 * left alone (their line breaks are escaped). Text without a line break comes back as is.
 */
export function compactJsonText(text: string): string {
  if (!text.includes('\n')) return text;
  let out = '';
  let from = 0;
  const n = text.length;
  for (let i = 0; i < n; ) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = skipString(text, i);
      continue;
    }
    if (c === 0x0a || c === 0x0d) {
      out += text.slice(from, i);
      let j = i;
      while (j < n && isSpace(text.charCodeAt(j))) j++;
      if (out.charCodeAt(out.length - 1) === COMMA) out += ' ';
      from = j;
      i = j;
      continue;
    }
    i++;
  }
  return out + text.slice(from);
}
