// Small text helpers for printing TypeScript: property keys, string literals, TSDoc blocks.

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** A property key: bare when it is an identifier, else single-quoted (`'node-name'`). */
export function tsPropertyKey(name: string): string {
  return IDENTIFIER.test(name) ? name : tsString(name);
}

/** A single-quoted TypeScript string literal. */
export function tsString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}

/**
 * A TSDoc block from lines of text and tags, indented by `indent`; empty when there is nothing to say.
 * `*​/` inside the text is broken up so it cannot end the comment.
 */
export function tsDoc(lines: readonly string[], indent = ''): string {
  const body = lines.flatMap((l) => l.split('\n')).map((l) => l.replace(/\*\//g, '*\\/').trimEnd());
  while (body.length > 0 && body[body.length - 1] === '') body.pop();
  while (body.length > 0 && body[0] === '') body.shift();
  if (body.length === 0) return '';
  if (body.length === 1) return `${indent}/** ${body[0]} */\n`;
  return `${indent}/**\n${body.map((l) => (l === '' ? `${indent} *` : `${indent} * ${l}`)).join('\n')}\n${indent} */\n`;
}
