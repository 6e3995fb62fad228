// The CLI's option parser.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type OptionSpec, parseArgv } from '../../src/cli/argv.js';
import { QmpUsageError } from '../../src/errors/index.js';

const spec: Record<string, OptionSpec> = {
  pretty: { type: 'boolean', short: 'p' },
  verbose: { type: 'boolean', short: 'v' },
  logfile: { type: 'string', short: 'l' },
  name: { type: 'string', multiple: true },
  count: { type: 'string' },
};
const parse = (argv: string[], stop = false) => parseArgv(argv, spec, { command: 'qmpkit x', stopAtPositional: stop });

test('long, short, grouped and valued options mixed with positionals', () => {
  const p = parse(['sock', '-pv', '--name', 'STOP', 'cmd', '--name=RESUME', '-lfile', '--count', '3', 'a=1']);
  assert.deepEqual(p.positionals, ['sock', 'cmd', 'a=1']);
  assert.equal(p.flag('pretty'), true);
  assert.equal(p.flag('verbose'), true);
  assert.deepEqual(p.strings('name'), ['STOP', 'RESUME']);
  assert.equal(p.string('logfile'), 'file');
  assert.equal(p.integer('count'), 3);
  assert.equal(p.rest, undefined);
});

test('-l FILE and -- ending options', () => {
  const p = parse(['-l', 'f', '--', '-p', '--x']);
  assert.equal(p.string('logfile'), 'f');
  assert.equal(p.flag('pretty'), false);
  assert.deepEqual(p.rest, ['-p', '--x']);
});

test('stopAtPositional keeps the rest verbatim', () => {
  const p = parse(['-p', 'qemu-system-x86_64', '-m', '64', '--pretty'], true);
  assert.equal(p.flag('pretty'), true);
  assert.deepEqual(p.rest, ['qemu-system-x86_64', '-m', '64', '--pretty']);
});

test('usage errors', () => {
  assert.throws(
    () => parse(['--bogus']),
    (e: unknown) => e instanceof QmpUsageError && /unknown option '--bogus'/.test(e.message),
  );
  assert.throws(() => parse(['-x']), /unknown option '-x'/);
  assert.throws(() => parse(['--logfile']), /option '--logfile' needs a value/);
  assert.throws(() => parse(['-l']), /option '-l' needs a value/);
  assert.throws(() => parse(['--pretty=yes']), /option '--pretty' takes no value/);
  assert.throws(() => parse(['--count', '1', '--count', '2']), /given twice/);
  assert.throws(() => parse(['--count', '-1']).integer('count'), /--count needs an integer >= 0, got '-1'/);
  assert.throws(() => parse(['--count', '1.5']).integer('count'), /needs an integer/);
  assert.throws(() => parse(['--count', '0']).integer('count', 1), /needs an integer >= 1/);
});

test('a lone - is a positional', () => {
  assert.deepEqual(parse(['-']).positionals, ['-']);
});
