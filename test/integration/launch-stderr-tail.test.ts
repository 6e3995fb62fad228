// The launcher's stderr tail: bounded by lines (LAUNCH_STDERR_TAIL_LINES) and by line length.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shellQuote } from '../../src/launcher/shell-quote.js';
import { StderrTail } from '../../src/launcher/stderr-tail.js';
import { LAUNCH_STDERR_TAIL_LINES } from '../../src/limits.js';

test('keeps exactly the last LAUNCH_STDERR_TAIL_LINES lines; one more drops the oldest', () => {
  const at = new StderrTail(LAUNCH_STDERR_TAIL_LINES);
  for (let i = 1; i <= LAUNCH_STDERR_TAIL_LINES; i++) at.push(`line ${i}\n`);
  assert.equal(at.text().split('\n').length, LAUNCH_STDERR_TAIL_LINES);
  assert.equal(at.text().split('\n')[0], 'line 1');
  at.push(`line ${LAUNCH_STDERR_TAIL_LINES + 1}\n`);
  const lines = at.text().split('\n');
  assert.equal(lines.length, LAUNCH_STDERR_TAIL_LINES);
  assert.equal(lines[0], 'line 2');
  assert.equal(lines[lines.length - 1], `line ${LAUNCH_STDERR_TAIL_LINES + 1}`);
});

test('chunks split anywhere, CRLF, and an unfinished last line', () => {
  const t = new StderrTail(3);
  t.push('qemu-system-x86_64: -bo');
  t.push('gus: invalid option\r\nsecond');
  assert.equal(t.text(), 'qemu-system-x86_64: -bogus: invalid option\nsecond');
});

test('a process printing without newlines cannot grow it without bound', () => {
  const t = new StderrTail(2, 10);
  t.push('x'.repeat(1000));
  assert.equal(t.text().length, 10);
  t.push(`${'y'.repeat(50)}\n`);
  assert.equal(t.text(), 'x'.repeat(10), 'an over-long line keeps its beginning');
});

test('command lines are quoted for pasting into a shell', () => {
  assert.equal(shellQuote(['qemu', '-name', "a b'c", '-m', '64']), "qemu -name 'a b'\\''c' -m 64");
});
