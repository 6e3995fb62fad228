// Tab completion: commands, transaction actions, argument names (nested, per union branch), values.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { hmpCompletions, ShellCompleter } from '../../src/cli/shell-completer.js';
import { ShellSchema } from '../../src/cli/shell-schema.js';
import type { JsonValue } from '../../src/wire/json-value.js';

const schema = (() => {
  const text = readFileSync(resolve(import.meta.dirname, '../../../data/qmp-schema-7.2.json'), 'utf8');
  return ShellSchema.fromIntrospection((JSON.parse(text) as { return: JsonValue }).return);
})();
const c = new ShellCompleter({ schema });

describe('command names', () => {
  test('complete from the schema', () => {
    assert.deepEqual(c.complete('query-sta', false), [
      ['query-stats', 'query-stats-schemas', 'query-status'],
      'query-sta',
    ]);
    assert.deepEqual(c.complete('system_res', false), [['system_reset'], 'system_res']);
  });

  test('transaction( is offered', () => {
    assert.deepEqual(c.complete('transac', false), [['transaction', 'transaction('], 'transac']);
  });

  test('without a schema, from a plain list', () => {
    const plain = new ShellCompleter({ commands: ['stop', 'cont', 'query-status'] });
    assert.deepEqual(plain.complete('', false), [['cont', 'query-status', 'stop', 'transaction('], '']);
    assert.deepEqual(plain.complete('query-status fo', false), [[], 'fo']);
  });

  test('leading spaces are fine', () => {
    assert.deepEqual(c.complete('  sto', false), [['stop'], 'sto']);
  });
});

describe('argument names', () => {
  test('after the command', () => {
    assert.deepEqual(c.complete('eject ', false), [['device=', 'force=', 'id='], '']);
    assert.deepEqual(c.complete('eject f', false), [['force='], 'f']);
  });

  test('keys already on the line are not offered again', () => {
    assert.deepEqual(c.complete('eject id=cd0 ', false), [['device=', 'force='], '']);
  });

  test('object members end in a dot, and nested names complete', () => {
    const [names] = c.complete('blockdev-add driver=file ca', false);
    assert.deepEqual(names, ['cache.']);
    assert.deepEqual(c.complete('blockdev-add driver=file cache.', false), [
      ['cache.direct=', 'cache.no-flush='],
      'cache.',
    ]);
  });

  test('the union branch chosen by the tag decides the members', () => {
    const [file] = c.complete('blockdev-add driver=file fil', false);
    assert.deepEqual(file, ['filename=']);
    const [nbd] = c.complete('blockdev-add driver=nbd ', false);
    assert.ok(nbd.includes('export='), nbd.join(' '));
    assert.ok(!nbd.includes('filename='), nbd.join(' '));
  });

  test('unknown commands give nothing', () => {
    assert.deepEqual(c.complete('no-such-command ', false), [[], '']);
  });
});

describe('values', () => {
  test('enum values', () => {
    assert.deepEqual(c.complete('blockdev-add driver=qco', false), [['driver=qcow', 'driver=qcow2'], 'driver=qco']);
    const [all] = c.complete('set_password protocol=', false);
    assert.deepEqual(all, ['protocol=vnc', 'protocol=spice']);
  });

  test('booleans', () => {
    assert.deepEqual(c.complete('eject id=cd0 force=', false), [['force=true', 'force=false'], 'force=']);
  });

  test('nested enum values', () => {
    const [v] = c.complete('blockdev-add driver=file node-name=n filename=/x aio=', false);
    assert.deepEqual(v, ['aio=threads', 'aio=native', 'aio=io_uring']);
  });

  test('inside a JSON value nothing is offered', () => {
    assert.deepEqual(c.complete('x a={"b', false), [[], 'a={"b']);
  });
});

describe('transactions', () => {
  test('action names in TRANS> mode, and )', () => {
    const [names] = c.complete('block-dirty-bitmap-a', true);
    assert.deepEqual(names, ['block-dirty-bitmap-add']);
    assert.ok(c.complete('', true)[0].includes(')'));
  });

  test('action names after transaction( on one line', () => {
    assert.deepEqual(c.complete('transaction( abo', false), [['abort'], 'abo']);
  });

  test('action arguments', () => {
    assert.deepEqual(c.complete('block-dirty-bitmap-add n', true), [['name=', 'node='], 'n']);
  });
});

test('HMP completions from help and info text', () => {
  const help =
    'announce_self [interfaces:str] [id:str] -- Trigger GARP/RARP announcements\r\n' +
    'c|cont  -- resume emulation\r\n' +
    'info [subcommand] -- show various information about the system state\r\n' +
    'q|quit  -- quit the emulator\r\n';
  const info = 'info balloon  -- show balloon information\r\ninfo status  -- show the current VM status\r\n';
  assert.deepEqual(hmpCompletions(help, info), [
    'announce_self',
    'cont',
    'help announce_self',
    'help cont',
    'help info',
    'help quit',
    'info balloon',
    'info status',
    'quit',
  ]);
});
