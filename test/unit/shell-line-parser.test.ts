// The shell's pure line parser: the whole qmp-shell syntax, qmpkit's additions, and every error.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { ShellLineParser, type ShellLineResult } from '../../src/cli/shell-line-parser.js';
import { ShellSchema } from '../../src/cli/shell-schema.js';
import type { JsonValue } from '../../src/wire/json-value.js';

const show = (v: unknown): string => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x));

function args(line: string, parser = new ShellLineParser()): JsonValue {
  const r = parser.parse(line);
  assert.equal(r.kind, 'execute', `expected a command from ${JSON.stringify(line)}, got ${show(r)}`);
  return r.kind === 'execute' ? r.command.arguments : null;
}

function error(line: string, parser = new ShellLineParser()): string {
  const r = parser.parse(line);
  assert.equal(r.kind, 'error', `expected an error from ${JSON.stringify(line)}, got ${String(r.kind)}`);
  return r.kind === 'error' ? r.message : '';
}

const schema = (() => {
  const text = readFileSync(resolve(import.meta.dirname, '../../../data/qmp-schema-7.2.json'), 'utf8');
  const entries = (JSON.parse(text) as { return: JsonValue }).return;
  return ShellSchema.fromIntrospection(entries);
})();

describe('commands and plain values', () => {
  test('a bare command sends empty arguments, like qmp-shell', () => {
    assert.deepEqual(new ShellLineParser().parse('query-status'), {
      kind: 'execute',
      command: { execute: 'query-status', arguments: {} },
    });
  });

  test('blank lines are empty', () => {
    const p = new ShellLineParser();
    assert.deepEqual(p.parse(''), { kind: 'empty' });
    assert.deepEqual(p.parse('   \t '), { kind: 'empty' });
  });

  test('integers, negative and explicit plus', () => {
    assert.deepEqual(args('c a=1 b=-42 c=+7 d=007'), { a: 1, b: -42, c: 7, d: 7 });
  });

  test('integers beyond 2^53 stay exact as bigint', () => {
    assert.deepEqual(args('c a=18446744073709551615 b=-9223372036854775808 c=9007199254740991'), {
      a: 18446744073709551615n,
      b: -9223372036854775808n,
      c: 9007199254740991,
    });
  });

  test('floats', () => {
    assert.deepEqual(args('c a=1.5 b=-0.25 c=.5 d=1e3 e=2.5E-2 f=3.'), {
      a: 1.5,
      b: -0.25,
      c: 0.5,
      d: 1000,
      e: 0.025,
      f: 3,
    });
  });

  test('booleans in any case, like qmp-shell', () => {
    assert.deepEqual(args('c a=true b=false c=True d=FALSE'), { a: true, b: false, c: true, d: false });
  });

  test('null', () => {
    assert.deepEqual(args('c a=null'), { a: null });
  });

  test('everything else is a string', () => {
    assert.deepEqual(args('c driver=e1000 id=net1 x=1.2.3 y=0x10 z=-'), {
      driver: 'e1000',
      id: 'net1',
      x: '1.2.3',
      y: '0x10',
      z: '-',
    });
  });

  test('an empty value is an empty string', () => {
    assert.deepEqual(args('c a='), { a: '' });
  });

  test('only the first = splits key and value', () => {
    assert.deepEqual(args('human-monitor-command command-line=a=b=c'), { 'command-line': 'a=b=c' });
  });
});

describe('quoting like a shell', () => {
  test('double quotes keep spaces', () => {
    assert.deepEqual(args('c desc="two words"'), { desc: 'two words' });
  });

  test('single quotes are literal', () => {
    assert.deepEqual(args(`c a='it\\s "x"'`), { a: 'it\\s "x"' });
  });

  test('escapes inside double quotes', () => {
    assert.deepEqual(args('c a="say \\"hi\\" \\\\ \\n"'), { a: 'say "hi" \\ \\n' });
  });

  test('backslash outside quotes escapes the next character', () => {
    assert.deepEqual(args('c a=two\\ words b=x\\=y'), { a: 'two words', b: 'x=y' });
  });

  test('quoted values are always strings', () => {
    assert.deepEqual(args(`c a="1" b='true' c="null" d="" e=''`), { a: '1', b: 'true', c: 'null', d: '', e: '' });
  });

  test('quotes may cover part of a word and the key', () => {
    assert.deepEqual(args(`c "a"=x"y z"w`), { a: 'xy zw' });
  });

  test('command-line with spaces for human-monitor-command', () => {
    assert.deepEqual(args('human-monitor-command command-line="info status"'), { 'command-line': 'info status' });
  });

  test('an unterminated quote is an error', () => {
    assert.match(error('c a="open'), /Unterminated quote \("\) starting at column 5/);
    assert.match(error("c a='open"), /Unterminated quote \('\)/);
  });

  test('a lone trailing backslash is an error', () => {
    assert.match(error('c a=x\\'), /lone backslash/);
  });
});

describe('JSON values', () => {
  test('objects and arrays', () => {
    assert.deepEqual(args('c a={"x":1,"y":[true,null,"s"]} b=[1,2]'), { a: { x: 1, y: [true, null, 's'] }, b: [1, 2] });
  });

  test('JSON may contain spaces', () => {
    assert.deepEqual(args('c a={"x": "two words", "y": [1, 2]} b=3'), { a: { x: 'two words', y: [1, 2] }, b: 3 });
  });

  test('brackets inside JSON strings do not count', () => {
    assert.deepEqual(args('c a=["]", "{"]'), { a: [']', '{'] });
  });

  test('Python-style literals, as qmp-shell accepts', () => {
    assert.deepEqual(args("c a={'k':'v','b':True,'n':None,'f':False}"), { a: { k: 'v', b: true, n: null, f: false } });
  });

  test('big integers inside JSON stay exact', () => {
    assert.deepEqual(args('c a=[18446744073709551615, 1.5, -3]'), { a: [18446744073709551615n, 1.5, -3] });
  });

  test('a JSON __proto__ member is an ordinary member', () => {
    const a = args('c a={"__proto__":{"x":1}}') as Record<string, JsonValue>;
    assert.deepEqual(Object.keys(a['a'] as object), ['__proto__']);
  });

  test('unterminated JSON is an error', () => {
    assert.match(error('c a={"x":1'), /Unterminated JSON object \(missing '}'\)/);
    assert.match(error('c a=[1,2'), /Unterminated JSON array \(missing '\]'\)/);
  });

  test('malformed JSON is an error with its position', () => {
    assert.match(error('c a={x:1}'), /Invalid JSON value '\{x:1\}': expected a quoted member name at offset 1/);
    assert.match(error('c a=[1,,2]'), /Invalid JSON value/);
  });

  test('text after a JSON value is an error', () => {
    assert.match(error('c a=[1]x'), /Unexpected text after the JSON value '\[1\]'/);
  });

  test('nesting is bounded', () => {
    const deep = `${'['.repeat(1025)}${']'.repeat(1025)}`;
    assert.match(error(`c a=${deep}`), /nesting deeper than 1024/);
    const ok = `${'['.repeat(1024)}${']'.repeat(1024)}`;
    assert.equal(new ShellLineParser().parse(`c a=${ok}`).kind, 'execute');
  });

  test('a line that is a JSON command is sent as is', () => {
    assert.deepEqual(new ShellLineParser().parse('{"execute": "eject", "arguments": {"id": "cd0", "force": true}}'), {
      kind: 'execute',
      command: { execute: 'eject', arguments: { id: 'cd0', force: true } },
    });
    assert.deepEqual(new ShellLineParser().parse(' {"execute":"query-status"}'), {
      kind: 'execute',
      command: { execute: 'query-status', arguments: {} },
    });
  });

  test('a JSON command line must be a command', () => {
    assert.match(error('{"exec": "x"}'), /needs "execute"/);
    assert.match(error('{"execute": "x", "id": 1}'), /only "execute" and "arguments", not "id"/);
    assert.match(error('{"execute": "x", "arguments": [1]}'), /"arguments" must be an object/);
  });
});

describe('dotted keys', () => {
  test('build nested objects', () => {
    assert.deepEqual(args('blockdev-add driver=file node-name=n0 a.b.c=1 a.b.d=x a.e=true'), {
      driver: 'file',
      'node-name': 'n0',
      a: { b: { c: 1, d: 'x' }, e: true },
    });
  });

  test('a key set twice is an error', () => {
    assert.equal(error('c a=1 a=2'), 'Cannot set "a" multiple times');
    assert.equal(error('c a.b=1 a.b=2'), 'Cannot set "a.b" multiple times');
  });

  test('a key used as leaf and branch is an error, in either order', () => {
    assert.equal(error('c a=1 a.b=2'), 'Cannot use "a" as both leaf and non-leaf key');
    assert.equal(error('c a.b=2 a=1'), 'Cannot use "a" as both leaf and non-leaf key');
    assert.equal(error('c a.b.c=1 a.b=2'), 'Cannot use "a.b" as both leaf and non-leaf key');
  });

  test('a JSON object value is a leaf', () => {
    assert.equal(error('c a={"x":1} a.y=2'), 'Cannot use "a" as both leaf and non-leaf key');
  });

  test('empty key segments are errors', () => {
    assert.match(error('c =1'), /Invalid key '' in '=1': empty name/);
    assert.match(error('c a..b=1'), /Invalid key 'a..b'/);
    assert.match(error('c .a=1'), /Invalid key '.a'/);
    assert.match(error('c a.=1'), /Invalid key 'a.'/);
  });

  test('a word without = is an error, with qmp-shell wording', () => {
    assert.equal(error('device_add driver'), "Expected a key=value pair, got 'driver'");
  });

  test('the command name cannot be a key=value', () => {
    assert.match(error('a=1'), /Expected a command name, got 'a=1'/);
  });

  test('__proto__ as a key is an ordinary member', () => {
    const a = args('c __proto__.x=1') as Record<string, JsonValue>;
    assert.deepEqual(Object.keys(a), ['__proto__']);
    assert.equal(Object.getPrototypeOf(a), Object.prototype);
  });
});

describe('transactions', () => {
  test('multi-line form with TRANS> state', () => {
    const p = new ShellLineParser();
    assert.deepEqual(p.parse('transaction('), { kind: 'pending', actions: 0 });
    assert.equal(p.inTransaction, true);
    assert.deepEqual(p.parse('block-dirty-bitmap-add node=drive0 name=bitmap1'), { kind: 'pending', actions: 1 });
    assert.deepEqual(p.parse(''), { kind: 'pending', actions: 1 });
    assert.deepEqual(p.parse('block-dirty-bitmap-clear node=drive0 name=bitmap0'), { kind: 'pending', actions: 2 });
    assert.deepEqual(p.parse(')'), {
      kind: 'execute',
      command: {
        execute: 'transaction',
        arguments: {
          actions: [
            { type: 'block-dirty-bitmap-add', data: { node: 'drive0', name: 'bitmap1' } },
            { type: 'block-dirty-bitmap-clear', data: { node: 'drive0', name: 'bitmap0' } },
          ],
        },
      },
    });
    assert.equal(p.inTransaction, false);
  });

  test('one-line form', () => {
    assert.deepEqual(args('transaction( abort )'), { actions: [{ type: 'abort', data: {} }] });
  });

  test('the last action may close the transaction on its line', () => {
    const p = new ShellLineParser();
    p.parse('transaction(');
    assert.deepEqual(args('abort )', p), { actions: [{ type: 'abort', data: {} }] });
  });

  test('an empty transaction', () => {
    assert.deepEqual(args('transaction( )'), { actions: [] });
  });

  test('a bad action is rejected but the transaction stays open', () => {
    const p = new ShellLineParser();
    p.parse('transaction(');
    p.parse('abort');
    assert.equal(error('blockdev-snapshot-sync a=1 a=2', p), 'Cannot set "a" multiple times');
    assert.equal(p.inTransaction, true);
    assert.deepEqual(args(')', p), { actions: [{ type: 'abort', data: {} }] });
  });

  test('with a schema, an unknown action is refused, the valid ones listed, and the transaction stays open', () => {
    const p = new ShellLineParser({ typer: schema });
    p.parse('transaction(');
    p.parse('abort');
    const message = error('no-such-action node=x', p);
    assert.match(message, /^Unknown transaction action 'no-such-action' \(actions: abort, block-dirty-bitmap-add, /);
    assert.equal(p.inTransaction, true);
    assert.deepEqual(args('block-dirty-bitmap-add node=d0 name=b0 )', p), {
      actions: [
        { type: 'abort', data: {} },
        { type: 'block-dirty-bitmap-add', data: { node: 'd0', name: 'b0' } },
      ],
    });
    assert.match(
      error('transaction( bogus )', new ShellLineParser({ typer: schema })),
      /Unknown transaction action 'bogus'/,
    );
  });

  test('text after the closing ) is an error', () => {
    const p = new ShellLineParser();
    p.parse('transaction(');
    assert.match(error(') abort', p), /Unexpected input after '\)'/);
    assert.equal(p.inTransaction, true);
  });

  test('nested transaction( is an error', () => {
    const p = new ShellLineParser();
    p.parse('transaction(');
    assert.match(error('transaction(', p), /Already inside 'transaction\('/);
  });

  test(') without a transaction is an error', () => {
    assert.match(error(')'), /none is open/);
  });

  test('abortTransaction drops the actions', () => {
    const p = new ShellLineParser();
    p.parse('transaction( abort');
    assert.equal(p.inTransaction, true);
    p.abortTransaction();
    assert.equal(p.inTransaction, false);
    assert.deepEqual(p.parse('query-status').kind, 'execute');
  });

  test('a quoted ) is an argument, not the end', () => {
    const p = new ShellLineParser();
    p.parse('transaction(');
    assert.deepEqual(p.parse('abort ")"').kind, 'error');
  });

  test('a JSON line inside a transaction is an action word, not a raw command', () => {
    const p = new ShellLineParser();
    p.parse('transaction(');
    assert.match(error('{"execute":"x"}', p), /Expected a command name/);
  });
});

describe('values typed by the schema', () => {
  const typed = () => new ShellLineParser({ typer: schema });

  test('a string argument keeps digits and words as text', () => {
    assert.deepEqual(args('eject id=1 force=true', typed()), { id: '1', force: true });
    assert.deepEqual(args('device_del id=123', typed()), { id: '123' });
    assert.deepEqual(args('set_password protocol=vnc password=true', typed()), { protocol: 'vnc', password: 'true' });
  });

  test('without the schema the same words become numbers and booleans', () => {
    assert.deepEqual(args('eject id=1'), { id: 1 });
  });

  test('integer and number arguments', () => {
    assert.deepEqual(args('balloon value=1073741824', typed()), { value: 1073741824 });
    assert.deepEqual(args('migrate-set-parameters downtime-limit=300', typed()), { 'downtime-limit': 300 });
  });

  test('on/off/yes/no where only a boolean fits', () => {
    assert.deepEqual(args('eject id=cd0 force=on', typed()), { id: 'cd0', force: true });
    assert.deepEqual(args('eject id=cd0 force=no', typed()), { id: 'cd0', force: false });
  });

  test('a string argument that starts with { is text', () => {
    assert.deepEqual(args('human-monitor-command command-line={x', typed()), { 'command-line': '{x' });
  });

  test('nested members through dotted keys', () => {
    assert.deepEqual(args('blockdev-add driver=file node-name=1 filename=/tmp/x cache.direct=true', typed()), {
      driver: 'file',
      'node-name': '1',
      filename: '/tmp/x',
      cache: { direct: true },
    });
  });

  test('alternates take both kinds (StrOrNull takes null)', () => {
    assert.deepEqual(args('blockdev-add driver=qcow2 node-name=n file=f1 backing=null', typed()), {
      driver: 'qcow2',
      'node-name': 'n',
      file: 'f1',
      backing: null,
    });
  });

  test('transaction actions are typed by their data type', () => {
    const p = typed();
    p.parse('transaction(');
    p.parse('block-dirty-bitmap-add node=1 name=2 granularity=65536');
    assert.deepEqual(args(')', p), {
      actions: [{ type: 'block-dirty-bitmap-add', data: { node: '1', name: '2', granularity: 65536 } }],
    });
  });

  test('unknown commands and members fall back to natural values', () => {
    assert.deepEqual(args('no-such-command id=1', typed()), { id: 1 });
    assert.deepEqual(args('eject bogus=1', typed()), { bogus: 1 });
  });

  test('a value of the wrong kind with no string branch is sent as typed, for QEMU to reject', () => {
    assert.deepEqual(args('balloon value=big', typed()), { value: 'big' });
  });
});

test('parse never throws on odd input', () => {
  const p = new ShellLineParser();
  const inputs = [
    '"',
    "'",
    '\\',
    '{',
    '[',
    '=',
    '==',
    ')',
    '(',
    'transaction(',
    '"a"=',
    'x {',
    'x a=[',
    '\u0000',
    'x a="\\"',
  ];
  for (const line of inputs) {
    const r: ShellLineResult = p.parse(line);
    assert.ok(['empty', 'execute', 'pending', 'error'].includes(r.kind), line);
    p.abortTransaction();
  }
});

describe('parseWords (qmpkit exec: words already split by the shell)', () => {
  test('each word is taken literally, no second round of quoting', () => {
    assert.deepEqual(new ShellLineParser().parseWords('c', ['desc=two words', 'q="x"', 'n=1', 'b=true', 'z=null']), {
      kind: 'execute',
      command: { execute: 'c', arguments: { desc: 'two words', q: '"x"', n: 1, b: true, z: null } },
    });
  });

  test('JSON values, dotted keys and empty values', () => {
    const r = new ShellLineParser().parseWords('c', ['a={"x": [1, 2]}', 'o.p.q=s', 'e=']);
    assert.deepEqual(r, {
      kind: 'execute',
      command: { execute: 'c', arguments: { a: { x: [1, 2] }, o: { p: { q: 's' } }, e: '' } },
    });
  });

  test('typed by the schema', () => {
    const r = new ShellLineParser({ typer: schema }).parseWords('eject', ['id=1', 'force=on']);
    assert.deepEqual(r, { kind: 'execute', command: { execute: 'eject', arguments: { id: '1', force: true } } });
  });

  test('errors', () => {
    const p = new ShellLineParser();
    assert.deepEqual(p.parseWords('c', ['novalue']), {
      kind: 'error',
      message: "Expected a key=value pair, got 'novalue'",
    });
    assert.deepEqual(p.parseWords('c', ['a=1', 'a=2']), { kind: 'error', message: 'Cannot set "a" multiple times' });
    assert.equal(p.parseWords('c', ['a={x']).kind, 'error');
  });
});
