// The one table that maps errors to exit codes, and the docs that list it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { EXIT_CODES, exitCodeFor } from '../../src/cli/exit-codes.js';
import {
  QMP_ERROR_CODES,
  QmpCommandError,
  QmpConnectionError,
  QmpError,
  QmpLaunchError,
  QmpTimeoutError,
  QmpUsageError,
} from '../../src/errors/index.js';

test('every error code maps to a documented exit code', () => {
  const documented = new Set(Object.values(EXIT_CODES));
  for (const code of Object.keys(QMP_ERROR_CODES) as Array<keyof typeof QMP_ERROR_CODES>) {
    assert.ok(documented.has(exitCodeFor(new QmpError(code, 'x'))), code);
  }
});

test('the mapping', () => {
  assert.equal(exitCodeFor(new QmpCommandError('GenericError', 'x')), 1);
  assert.equal(exitCodeFor(new QmpUsageError('x')), 2);
  assert.equal(exitCodeFor(new QmpConnectionError('QMP_ERR_CONNECT', 'x')), 3);
  assert.equal(exitCodeFor(new QmpConnectionError('QMP_ERR_DISCONNECTED', 'x')), 3);
  assert.equal(exitCodeFor(new QmpTimeoutError('x', 1, { code: 'QMP_ERR_CONNECT_TIMEOUT' })), 3);
  assert.equal(exitCodeFor(new QmpLaunchError('x', { exitCode: 1, signal: null, argv: [], stderrTail: '' })), 3);
  assert.equal(exitCodeFor(new QmpTimeoutError('x', 1)), 4);
  assert.equal(exitCodeFor(new QmpError('QMP_ERR_ABORTED', 'x')), 130);
  assert.equal(exitCodeFor(new Error('bug')), 70);
});

test('docs/cli.md lists every exit code', () => {
  const text = readFileSync(new URL('../../../docs/cli.md', import.meta.url), 'utf8');
  for (const code of Object.values(EXIT_CODES)) assert.match(text, new RegExp(`^\\| ${code} \\|`, 'm'), String(code));
});
