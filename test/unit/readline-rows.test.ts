// The shell prints above its prompt using readline's recorded row count when Node has it, and the
// cursor's row from public API when it does not.
import assert from 'node:assert/strict';
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { readlineRedrawRows } from '../../src/cli/readline-rows.js';

test('uses the recorded rows when readline has them', () => {
  assert.equal(readlineRedrawRows({ prevRows: 3 }, 1), 3);
  assert.equal(readlineRedrawRows({ prevRows: 0 }, 2), 0);
});

test('falls back to the cursor row when the private field is missing or not a row count', () => {
  assert.equal(readlineRedrawRows({}, 2), 2);
  assert.equal(readlineRedrawRows({ prevRows: undefined }, 4), 4);
  assert.equal(readlineRedrawRows({ prevRows: '3' }, 1), 1);
  assert.equal(readlineRedrawRows({ prevRows: -1 }, 1), 1);
  assert.equal(readlineRedrawRows({ prevRows: 1.5 }, 1), 1);
});

test("on this Node's readline it returns a row count before and after a redraw", () => {
  const input = new PassThrough();
  const output = new PassThrough();
  output.resume();
  const rl = createInterface({ input, output, terminal: true, prompt: '(QEMU) ' });
  try {
    const before = readlineRedrawRows(rl, rl.getCursorPos().rows);
    assert.equal(before, 0);
    rl.write('query-status');
    rl.prompt(true);
    const after = readlineRedrawRows(rl, rl.getCursorPos().rows);
    assert.ok(Number.isInteger(after) && after >= 0, String(after));
  } finally {
    rl.close();
  }
});
