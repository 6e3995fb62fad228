// JSON rendering for the shell and the CLI: layouts, bigints, QEMU's non-finite tokens.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderJson } from '../../src/cli/render-json.js';

const v = { return: { status: 'running', singlestep: false, running: true, n: [1, 2], e: {}, l: [] } };

test('compact', () => {
  assert.equal(
    renderJson(v),
    '{"return":{"status":"running","singlestep":false,"running":true,"n":[1,2],"e":{},"l":[]}}',
  );
});

test('spaced, as Python json.dumps (qmp-shell)', () => {
  assert.equal(
    renderJson(v, { style: 'spaced' }),
    '{"return": {"status": "running", "singlestep": false, "running": true, "n": [1, 2], "e": {}, "l": []}}',
  );
});

test('pretty with sorted keys and indent 4 (qmp-shell -p)', () => {
  assert.equal(
    renderJson({ b: 1, a: [true, { y: null, x: 'é' }] }, { style: 'pretty', indent: 4, sortKeys: true }),
    '{\n    "a": [\n        true,\n        {\n            "x": "é",\n            "y": null\n        }\n    ],\n    "b": 1\n}',
  );
});

test('bigints, floats and non-finite numbers', () => {
  assert.equal(
    renderJson([18446744073709551615n, 1.5, -0, Infinity, -Infinity, Number.NaN]),
    '[18446744073709551615,1.5,-0,inf,-inf,nan]',
  );
});

test('strings are escaped', () => {
  assert.equal(renderJson({ 'a"b': 'line\nnext\u0001' }), '{"a\\"b":"line\\nnext\\u0001"}');
});
