import { QmpSchemaError } from '../errors/index.js';

/** A value of the QAPI language: JSON without numbers and null, strings in single quotes. */
export type QapiSourceValue = string | boolean | QapiSourceValue[] | { [key: string]: QapiSourceValue };

/** A doc comment block (`##` ... `##`), split into its parts. */
export interface QapiDocComment {
  /** The documented name (`# @Name:` on the first line), or undefined for free-form and heading blocks. */
  readonly symbol: string | undefined;
  /** The text of the block, without member and feature descriptions and without examples. */
  readonly body: string;
  /** `@member: text` descriptions (members, enum values, branches). */
  readonly members: ReadonlyMap<string, string>;
  /** `@feature: text` descriptions after `Features:`. */
  readonly features: ReadonlyMap<string, string>;
  readonly line: number;
}

/** One top-level expression of a QAPI source file, with the doc comment right before it. */
export interface QapiSourceExpression {
  readonly expr: { [key: string]: QapiSourceValue };
  readonly doc: QapiDocComment | undefined;
  readonly file: string;
  readonly line: number;
}

/**
 * Parses the text of one QAPI source file into its top-level expressions: `#` comments, `##` doc
 * blocks, single-quoted strings (only `\\` escapes), `true`/`false`, objects and arrays. Throws
 * `QmpSchemaError` with `file:line:` on errors.
 */
export function parseQapiSource(text: string, file: string): QapiSourceExpression[] {
  return new Parser(text, file).parseFile();
}

type Token = '{' | '}' | '[' | ']' | ':' | ',' | 'string' | 'bool' | 'eof';

class Parser {
  readonly #src: string;
  readonly #file: string;
  #pos = 0;
  #line = 1;
  #tok: Token = 'eof';
  #val: string | boolean = '';
  #tokLine = 1;
  #docs: QapiDocComment[] = [];

  constructor(src: string, file: string) {
    this.#src = src;
    this.#file = file;
  }

  #error(msg: string, line = this.#tokLine): QmpSchemaError {
    return new QmpSchemaError(`${this.#file}:${line}: ${msg}`);
  }

  parseFile(): QapiSourceExpression[] {
    const out: QapiSourceExpression[] = [];
    this.#next();
    while (this.#tok !== 'eof') {
      const line = this.#tokLine;
      const docs = this.#docs;
      this.#docs = [];
      if (this.#tok !== '{') throw this.#error('expected a top-level object ({ ... })');
      const expr = this.#value();
      if (typeof expr !== 'object' || Array.isArray(expr)) throw this.#error('expected a top-level object', line);
      // The last doc block before a definition documents it; earlier ones are headings or free text.
      out.push({ expr, doc: docs[docs.length - 1], file: this.#file, line });
    }
    return out;
  }

  #value(): QapiSourceValue {
    switch (this.#tok) {
      case 'string':
      case 'bool': {
        const v = this.#val;
        this.#next();
        return v;
      }
      case '[': {
        const list: QapiSourceValue[] = [];
        this.#next();
        if ((this.#tok as Token) === ']') {
          this.#next();
          return list;
        }
        for (;;) {
          list.push(this.#value());
          if ((this.#tok as Token) === ']') break;
          if ((this.#tok as Token) !== ',') throw this.#error("expected ',' or ']'");
          this.#next();
        }
        this.#next();
        return list;
      }
      case '{': {
        const obj: { [key: string]: QapiSourceValue } = {};
        this.#next();
        if ((this.#tok as Token) === '}') {
          this.#next();
          return obj;
        }
        for (;;) {
          if ((this.#tok as Token) !== 'string') throw this.#error('expected a string key');
          const key = this.#val as string;
          if (Object.hasOwn(obj, key)) throw this.#error(`duplicate key '${key}'`);
          this.#next();
          if ((this.#tok as Token) !== ':') throw this.#error("expected ':'");
          this.#next();
          Object.defineProperty(obj, key, {
            value: this.#value(),
            enumerable: true,
            writable: true,
            configurable: true,
          });
          if ((this.#tok as Token) === '}') break;
          if ((this.#tok as Token) !== ',') throw this.#error("expected ',' or '}'");
          this.#next();
        }
        this.#next();
        return obj;
      }
      default:
        throw this.#error(this.#tok === 'eof' ? 'unexpected end of file' : `expected a value, got '${this.#tok}'`);
    }
  }

  #next(): void {
    const src = this.#src;
    for (;;) {
      const ch = src[this.#pos];
      this.#tokLine = this.#line;
      if (ch === undefined) {
        this.#tok = 'eof';
        return;
      }
      if (ch === '#') {
        if (src.startsWith('##', this.#pos) && this.#atLineStart()) {
          this.#docs.push(this.#docBlock());
          continue;
        }
        const end = src.indexOf('\n', this.#pos);
        this.#pos = end < 0 ? src.length : end;
        continue;
      }
      this.#pos++;
      if (ch === '\n') {
        this.#line++;
        continue;
      }
      if (ch === ' ' || ch === '\t' || ch === '\r') continue;
      if ('{}[]:,'.includes(ch)) {
        this.#tok = ch as Token;
        return;
      }
      if (ch === "'") {
        let s = '';
        for (;;) {
          const c = src[this.#pos++];
          if (c === undefined || c === '\n') throw this.#error('missing terminating "\'"');
          if (c === '\\') {
            if (src[this.#pos] !== '\\') throw this.#error(`unknown escape \\${src[this.#pos] ?? ''}`);
            this.#pos++;
            s += '\\';
            continue;
          }
          if (c === "'") break;
          if (c < ' ' || c > '~') throw this.#error('funny character in string');
          s += c;
        }
        this.#tok = 'string';
        this.#val = s;
        return;
      }
      if (src.startsWith('true', this.#pos - 1)) {
        this.#pos += 3;
        this.#tok = 'bool';
        this.#val = true;
        return;
      }
      if (src.startsWith('false', this.#pos - 1)) {
        this.#pos += 4;
        this.#tok = 'bool';
        this.#val = false;
        return;
      }
      throw this.#error(`stray '${ch}'`);
    }
  }

  #atLineStart(): boolean {
    const before = this.#src.lastIndexOf('\n', this.#pos - 1);
    return this.#src.slice(before + 1, this.#pos).trim() === '';
  }

  /** Reads a `##` block up to its closing `##` line. */
  #docBlock(): QapiDocComment {
    const start = this.#line;
    const lines: string[] = [];
    const firstEnd = this.#src.indexOf('\n', this.#pos);
    if (this.#src.slice(this.#pos, firstEnd < 0 ? undefined : firstEnd).trim() !== '##')
      throw this.#error("junk after '##' at start of documentation comment", start);
    this.#pos = firstEnd < 0 ? this.#src.length : firstEnd + 1;
    this.#line++;
    for (;;) {
      if (this.#pos >= this.#src.length) throw this.#error('documentation comment is not terminated', start);
      const end = this.#src.indexOf('\n', this.#pos);
      const raw = this.#src.slice(this.#pos, end < 0 ? undefined : end);
      this.#pos = end < 0 ? this.#src.length : end + 1;
      this.#line++;
      const line = raw.trim();
      if (line === '##') break;
      if (!line.startsWith('#')) throw this.#error("documentation comment must end with '##'", this.#line - 1);
      lines.push(line.startsWith('# ') ? raw.trimStart().slice(2) : line.slice(1));
    }
    return splitDoc(lines, start);
  }
}

const SECTION = /^(Returns|Since|Notes?|Examples?|TODO|Errors|Features|Example):/;

/** Splits doc lines into the symbol, body, member and feature descriptions. */
function splitDoc(lines: readonly string[], line: number): QapiDocComment {
  let symbol: string | undefined;
  let i = 0;
  const first = lines[0]?.trim() ?? '';
  const sym = /^@([^:\s]+):\s*$/.exec(first);
  if (sym !== null) {
    symbol = sym[1];
    i = 1;
  } else if (first.startsWith('=')) {
    return { symbol: undefined, body: lines.join('\n').trim(), members: new Map(), features: new Map(), line };
  }
  const members = new Map<string, string>();
  const features = new Map<string, string>();
  const body: string[] = [];
  let target: { map: Map<string, string>; name: string } | undefined;
  let inFeatures = false;
  let inExample = false;
  for (; i < lines.length; i++) {
    const l = lines[i]!;
    const t = l.trim();
    const member = /^@([^:\s]+):\s?(.*)$/.exec(t);
    if (member !== null && !inExample) {
      const map = inFeatures ? features : members;
      map.set(member[1]!, member[2]!.trim());
      target = { map, name: member[1]! };
      continue;
    }
    if (t === 'Arguments:' || t === 'Members:' || t === 'Values:') {
      target = undefined;
      continue;
    }
    if (t === 'Features:') {
      inFeatures = true;
      target = undefined;
      continue;
    }
    const section = SECTION.exec(t);
    if (section !== null || t.startsWith('.. qmp-example::')) {
      inExample = section === null || section[1]!.startsWith('Example');
      target = undefined;
      if (!inExample) body.push(t);
      continue;
    }
    if (t === '') {
      target = undefined;
      if (!inExample) body.push('');
      continue;
    }
    if (target !== undefined && /^\s/.test(l)) {
      target.map.set(target.name, `${target.map.get(target.name)} ${t}`.trim());
      continue;
    }
    target = undefined;
    if (!inExample) body.push(l.replace(/^ {0,4}/, ''));
  }
  return {
    symbol,
    body: body
      .join('\n')
      .replace(/\n{3,}/g, '\n\n')
      .trim(),
    members,
    features,
    line,
  };
}
