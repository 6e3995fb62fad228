// Pass-through helpers: reading members out of JSON text, QEMU's pretty=on text made compact, and
// encoding parsed QEMU values so QEMU parses them back the same.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  compactJsonText,
  encodeQValue,
  formatQemuMessage,
  jsonMemberText,
  QemuJsonParser,
  type QValue,
  writeQemuJson,
} from '../../src/wire/index.js';
import { prng } from '../helpers/prng.js';

function parseOne(text: string): QValue {
  const items = new QemuJsonParser().push(Buffer.from(text));
  const [item] = items;
  assert.ok(item && 'value' in item, `${text} parses`);
  return item.value;
}

test('jsonMemberText finds top-level members only, in any position, as written', () => {
  const t = '{"id": {"return": 1}, "return": {"status": "running", "id": "a,}]\\""}, "z": [1, {"id": 2}]}';
  assert.equal(jsonMemberText(t, 'return'), '{"status": "running", "id": "a,}]\\""}');
  assert.equal(jsonMemberText(t, 'id'), '{"return": 1}');
  assert.equal(jsonMemberText(t, 'z'), '[1, {"id": 2}]');
  assert.equal(jsonMemberText(t, 'status'), undefined);
  assert.equal(jsonMemberText('{"return": {}, "id": 7}', 'return'), '{}');
  assert.equal(jsonMemberText('{"id": 7, "return": []}', 'return'), '[]');
  assert.equal(jsonMemberText('{}', 'return'), undefined);
  assert.equal(jsonMemberText('[1]', 'return'), undefined);
  assert.equal(
    jsonMemberText('{\r\n    "return": {\r\n        "a": 1\r\n    },\r\n    "id": 1\r\n}', 'return'),
    '{\r\n        "a": 1\r\n    }',
  );
  // A key that only starts like the one wanted is not it.
  assert.equal(jsonMemberText('{"returns": 1, "return": 2}', 'return'), '2');
});

test("compactJsonText turns QEMU's pretty=on text into QEMU's compact text", () => {
  const rand = prng(7);
  const values: unknown[] = [
    { return: {} },
    { return: [] },
    { return: { status: 'running', singlestep: false, running: true }, id: 1 },
    { return: [{ name: 'a,\n b', type: 'x' }, [], {}, [1, [2, { 'k\r\n': '  ' }]]] },
    { event: 'X', data: { 'a b': ', ', list: [null, true, 1.5] }, timestamp: { seconds: 1, microseconds: 2 } },
  ];
  for (let i = 0; i < 50; i++) {
    const o: Record<string, unknown> = {};
    for (let k = 0; k < 1 + Math.floor(rand() * 5); k++)
      o[`k${k}`] = rand() < 0.3 ? [k, { n: `s ${k},` }] : rand() < 0.5 ? {} : `v${k}`;
    values.push({ return: o, id: i });
  }
  for (const v of values) {
    const pretty = formatQemuMessage(v, { pretty: true }).replace(/\r\n$/, '');
    assert.ok(pretty.includes('\n'));
    assert.equal(compactJsonText(pretty), writeQemuJson(v), pretty);
  }
  assert.equal(compactJsonText('{"a": 1}'), '{"a": 1}');
});

test('encodeQValue: compact, insertion order, numbers keep their kind, strings ASCII', () => {
  const cases: Array<[string, string]> = [
    ['{"b": 1, "a": [true, null, "x"]}', '{"b":1,"a":[true,null,"x"]}'],
    ['{"f": 1.0, "g": -0.0, "h": 1e3, "i": 2.5e-10}', '{"f":1.0,"g":-0.0,"h":1000.0,"i":2.5e-10}'],
    [
      '{"n": -0, "u": 18446744073709551615, "i": -9223372036854775808}',
      '{"n":0,"u":18446744073709551615,"i":-9223372036854775808}',
    ],
    ['{"big": 18446744073709551616}', '{"big":18446744073709552000.0}'],
    ['{"inf": 1e400, "ninf": -1e400}', '{"inf":1e999,"ninf":-1e999}'],
    ["{'s': 'it\\'s \\u00e9\\n\\\\'}", '{"s":"it\'s \\u00e9\\u000a\\\\"}'],
    ['{"\\u00e9": {}}', '{"\\u00e9":{}}'],
  ];
  for (const [input, want] of cases) {
    const v = parseOne(input);
    assert.equal(encodeQValue(v), want, input);
    // QEMU's parser reads it back as the same value (kinds and order included).
    assert.deepEqual(parseOne(encodeQValue(v)), v, input);
  }
});
