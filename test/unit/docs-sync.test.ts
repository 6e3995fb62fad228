// Keeps docs/errors.md and docs/limits.md true to the code: every error code and every limit constant
// must have a row, and the docs must not list codes or limits that no longer exist.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { QMP_ERROR_CODES } from '../../src/errors/index.js';
import * as limits from '../../src/limits.js';

const ROOT = resolve(import.meta.dirname, '../../..');

test('docs/errors.md lists every error code, and only those', () => {
  const text = readFileSync(resolve(ROOT, 'docs/errors.md'), 'utf8');
  const documented = new Set([...text.matchAll(/^\| `(QMP_ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]));
  const codes = Object.keys(QMP_ERROR_CODES);
  assert.deepEqual(
    codes.filter((c) => !documented.has(c)),
    [],
    'codes missing from docs/errors.md',
  );
  assert.deepEqual(
    [...documented].filter((c) => c !== undefined && !codes.includes(c)),
    [],
    'docs/errors.md lists unknown codes',
  );
});

test('docs/limits.md lists every limit constant with its value, and only those', () => {
  const text = readFileSync(resolve(ROOT, 'docs/limits.md'), 'utf8');
  const rows = new Map([...text.matchAll(/^\| `([A-Z_]+)` \| `([^`]*)` \|/gm)].map((m) => [m[1], m[2]]));
  const names = Object.keys(limits);
  assert.ok(names.length >= 10);
  for (const name of names) {
    const value = (limits as Record<string, unknown>)[name];
    assert.ok(rows.has(name), `docs/limits.md has no row for ${name}`);
    const shown = (rows.get(name) ?? '').replaceAll('_', '').replaceAll(',', '');
    assert.equal(Number(shown), value, `docs/limits.md shows ${name} = ${rows.get(name)}, code says ${String(value)}`);
  }
  for (const name of rows.keys())
    assert.ok(name !== undefined && names.includes(name), `docs/limits.md lists unknown ${name}`);
});

// A constant and its option say the same words: the option's words (its path, and the function it
// belongs to when the row names one) make up the constant's name, apart from words naming where the
// limit applies (PROXY_, LAUNCH_, ...) or that it is a default.
const SCOPE_WORDS = new Set(['PROXY', 'LAUNCH', 'CLIENT', 'TLS', 'DEFAULT', 'OPTIONS', 'QGA']);

function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .split(/[._\s]+/)
    .map((w) => w.toUpperCase())
    .filter((w) => w !== '' && !SCOPE_WORDS.has(w));
}

test('every limit constant is named after its option', () => {
  const text = readFileSync(resolve(ROOT, 'docs/limits.md'), 'utf8');
  const rows = [...text.matchAll(/^\| `([A-Z_]+)` \| `[^`]*` \| ([^|]*) \|/gm)];
  let checked = 0;
  for (const [, constant, optionCell] of rows) {
    const m = /^`([A-Za-z.]+)`(?: \(of `([A-Za-z.]+)(?:\(\))?`\))?/.exec(optionCell ?? '');
    if (m === null || constant === undefined) continue;
    const option = m[1] ?? '';
    const context = m[2] === 'connect' ? 'connect' : '';
    assert.deepEqual(
      words(constant),
      words(`${context} ${option}`),
      `${constant} does not match its option \`${option}\``,
    );
    checked++;
  }
  assert.ok(checked >= 25, `only ${checked} rows name an option`);
});
