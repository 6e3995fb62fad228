// The history file: qmp-shell's name and size, GNU readline's format, libedit's read, mode 0600.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { defaultHistoryPath, loadHistory, saveHistory } from '../../src/cli/shell-history.js';
import { SHELL_HISTORY_SIZE } from '../../src/limits.js';

const dir = mkdtempSync(join(tmpdir(), 'qmpkit-hist-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('the file is ~/.qmp-shell_history, as in QEMU', () => {
  assert.equal(defaultHistoryPath({ HOME: '/home/u' }), '/home/u/.qmp-shell_history');
});

test('round trip: newest first in memory, oldest first on disk, mode 0600', () => {
  const p = join(dir, 'h1');
  assert.equal(saveHistory(p, ['c', 'b', 'a'], 10), true);
  assert.equal(readFileSync(p, 'utf8'), 'a\nb\nc\n');
  assert.equal(statSync(p).mode & 0o777, 0o600);
  assert.deepEqual(loadHistory(p, 10), ['c', 'b', 'a']);
});

test('a missing file is an empty history', () => {
  assert.deepEqual(loadHistory(join(dir, 'nope'), 10), []);
});

test('GNU timestamps and libedit escapes are read', () => {
  const p = join(dir, 'h2');
  writeFileSync(p, '#1700000000\nquery-status\n#1700000001\nstop\n');
  assert.deepEqual(loadHistory(p, 10), ['stop', 'query-status']);
  writeFileSync(p, '_HiStOrY_V2_\neject\\040id=cd0\n');
  assert.deepEqual(loadHistory(p, 10), ['eject id=cd0']);
});

test('exactly SHELL_HISTORY_SIZE entries are kept; one more drops the oldest', () => {
  const p = join(dir, 'h3');
  const entries = Array.from({ length: SHELL_HISTORY_SIZE + 1 }, (_, i) => `cmd${SHELL_HISTORY_SIZE - i}`);
  saveHistory(p, entries.slice(1), SHELL_HISTORY_SIZE);
  assert.equal(loadHistory(p, SHELL_HISTORY_SIZE).length, SHELL_HISTORY_SIZE);
  saveHistory(p, entries, SHELL_HISTORY_SIZE);
  const kept = loadHistory(p, SHELL_HISTORY_SIZE);
  assert.equal(kept.length, SHELL_HISTORY_SIZE);
  assert.equal(kept[0], `cmd${SHELL_HISTORY_SIZE}`);
  assert.equal(kept[kept.length - 1], 'cmd1');
  assert.ok(!kept.includes('cmd0'));
});

test('an unwritable path reports false instead of throwing', () => {
  writeFileSync(join(dir, 'file'), '');
  assert.equal(saveHistory(join(dir, 'file', 'sub', 'h'), ['x'], 10), false);
});
