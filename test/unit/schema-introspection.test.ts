import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QmpSchemaError } from '../../src/errors/index.js';
import {
  loadQemu72Introspection,
  loadQemu72Schema,
  QapiSchema,
  QEMU_7_2_HINTS,
  qemuIntrospectionHints,
} from '../../src/schema/index.js';

// A small introspection in the shape QEMU prints: numbered type names, flattened bases, `default: null`.
const SMALL = [
  { name: 'query-thing', 'meta-type': 'command', 'arg-type': '0', 'ret-type': '1' },
  { name: 'thing-add', 'meta-type': 'command', 'arg-type': '2', 'ret-type': '0', features: ['unstable'] },
  { name: 'old-cmd', 'meta-type': 'command', 'arg-type': '0', 'ret-type': '0', features: ['deprecated'] },
  { name: 'yank-ish', 'meta-type': 'command', 'arg-type': '0', 'ret-type': '0', 'allow-oob': true },
  { name: 'THING_CHANGED', 'meta-type': 'event', 'arg-type': '1' },
  { name: 'STOPPED', 'meta-type': 'event', 'arg-type': '0' },
  { name: '0', 'meta-type': 'object', members: [] },
  {
    name: '1',
    'meta-type': 'object',
    members: [
      { name: 'id', type: 'str' },
      { name: 'size', type: 'int', default: null },
    ],
  },
  {
    name: '2',
    'meta-type': 'object',
    members: [
      { name: 'kind', type: '3' },
      { name: 'old', type: 'bool', default: null, features: ['deprecated'] },
      { name: 'ref', type: '6', default: null },
    ],
    tag: 'kind',
    variants: [
      { case: 'disk', type: '4' },
      { case: 'net', type: '0' },
      { case: 'legacy', type: '0' },
    ],
  },
  {
    name: '3',
    'meta-type': 'enum',
    members: [{ name: 'disk' }, { name: 'net' }, { name: 'legacy', features: ['deprecated'] }],
    values: ['disk', 'net', 'legacy'],
  },
  { name: '4', 'meta-type': 'object', members: [{ name: 'paths', type: '[str]' }] },
  { name: '[str]', 'meta-type': 'array', 'element-type': 'str' },
  { name: '6', 'meta-type': 'alternate', members: [{ type: '1' }, { type: 'str' }, { type: 'null' }] },
  { name: 'str', 'meta-type': 'builtin', 'json-type': 'string' },
  { name: 'int', 'meta-type': 'builtin', 'json-type': 'int' },
  { name: 'bool', 'meta-type': 'builtin', 'json-type': 'boolean' },
  { name: 'null', 'meta-type': 'builtin', 'json-type': 'null' },
];

test('fromIntrospection reads every meta-type into the model', () => {
  const s = QapiSchema.fromIntrospection(SMALL);
  assert.equal(s.origin, 'introspection');
  assert.deepEqual(
    s.commands().map((c) => c.name),
    ['old-cmd', 'query-thing', 'thing-add', 'yank-ish'],
  );
  assert.equal(s.command('yank-ish')?.allowOob, true);
  assert.equal(s.allowsOob('query-thing'), false);
  assert.deepEqual(s.command('thing-add')?.features, ['unstable']);
  const u = s.type('2');
  assert.ok(u?.metaType === 'object');
  assert.equal(u.tag, 'kind');
  assert.deepEqual(
    u.members.map((m) => [m.name, m.optional]),
    [
      ['kind', false],
      ['old', true],
      ['ref', true],
    ],
  );
  assert.equal(s.type('6')?.metaType, 'alternate');
  assert.equal(s.type('[str]')?.metaType, 'array');
  assert.deepEqual(s.event('THING_CHANGED')?.argType, '1');
  // The whole {"return": [...]} reply is accepted as well.
  assert.equal(QapiSchema.fromIntrospection({ return: SMALL }).commands().length, 4);
});

test('fromIntrospection rejects malformed input with QmpSchemaError naming the entry', () => {
  const bad = (entries: unknown, re: RegExp): void =>
    assert.throws(
      () => QapiSchema.fromIntrospection(entries),
      (e: unknown) => e instanceof QmpSchemaError && e.code === 'QMP_ERR_SCHEMA' && re.test(e.message),
    );
  bad('nope', /must be an array/);
  bad([5], /entry 0: not an object/);
  bad([{ name: 'x', 'meta-type': 'weird' }], /entry 0 \('x'\): unknown meta-type 'weird'/);
  bad([{ name: 'c', 'meta-type': 'command', 'arg-type': '9', 'ret-type': '9' }], /refers to type '9'/);
  bad([{ name: '1', 'meta-type': 'object', members: [{ name: 'a' }] }], /members\[0\]/);
  bad([{ name: '1', 'meta-type': 'object', members: [], tag: 'k', variants: [] }], /'tag' must name/);
  bad([...SMALL, { name: '1', 'meta-type': 'enum', members: [] }], /duplicate name/);
  bad([{ name: 'e', 'meta-type': 'enum', members: [], features: [1] }], /features/);
});

test('derived type names come from commands, events and members, and survive renumbering', () => {
  const s = QapiSchema.fromIntrospection(SMALL);
  assert.equal(s.typeName('1'), 'ThingInfo');
  assert.equal(s.typeName('2'), 'ThingAddArguments');
  assert.equal(s.typeName('3'), 'ThingAddArgumentsKind');
  assert.equal(s.typeName('4'), 'ThingAddArgumentsDisk');
  assert.equal(s.typeName('6'), 'ThingAddArgumentsRef');
  assert.equal(s.typeName('str'), 'str');
  // Renumber every numbered type and shuffle the entries: the names stay.
  const map = new Map<string, string>([
    ['0', '0'],
    ['1', '71'],
    ['2', '13'],
    ['3', '5'],
    ['4', '40'],
    ['6', '2'],
  ]);
  const rename = (n: string): string => map.get(n) ?? n;
  const renumbered = JSON.parse(JSON.stringify(SMALL), (k, v: unknown) =>
    typeof v === 'string' && ['name', 'type', 'arg-type', 'ret-type', 'element-type'].includes(k) ? rename(v) : v,
  ) as typeof SMALL;
  renumbered.reverse();
  const r = QapiSchema.fromIntrospection(renumbered);
  for (const [from, to] of map) assert.equal(r.typeName(to), s.typeName(from));
});

test('supports() answers command, member and value questions', () => {
  const s = QapiSchema.fromIntrospection(SMALL);
  assert.equal(s.supports('thing-add'), true);
  assert.equal(s.supports('no-such'), false);
  assert.equal(s.supports('thing-add', 'arguments.kind'), true);
  assert.equal(s.supports('thing-add', 'arguments.kind', 'net'), true);
  assert.equal(s.supports('thing-add', 'arguments.kind', 'tape'), false);
  assert.equal(s.supports('thing-add', 'arguments.paths'), true, 'members of union branches count');
  assert.equal(s.supports('thing-add', 'arguments.ref.size'), true, 'through alternates');
  assert.equal(s.supports('thing-add', 'arguments.nope'), false);
  assert.equal(s.supports('query-thing', 'returns.size'), true);
  assert.equal(s.supports('query-thing', 'arguments.size'), false);
  assert.equal(s.supports('THING_CHANGED', 'data.id'), true);
  assert.equal(s.supports('thing-add', 'arguments.paths', 'anything'), true, 'str takes any string');

  const q = loadQemu72Schema();
  assert.equal(q.supports('blockdev-add', 'arguments.driver', 'null-co'), true);
  assert.equal(q.supports('blockdev-add', 'arguments.driver', 'vxhs'), false);
  assert.equal(q.supports('blockdev-add', 'arguments.cache.direct'), true);
  assert.equal(q.supports('query-block', 'returns.inserted.image.format'), true);
  assert.equal(q.supports('query-events'), false);
  assert.equal(q.supports('BLOCK_IO_ERROR', 'data.nospace'), true);
});

test('deprecations() lists the deprecated command, members and enum values used', () => {
  const s = QapiSchema.fromIntrospection(SMALL);
  assert.deepEqual(s.deprecations('old-cmd', {}), ["command 'old-cmd' is deprecated"]);
  assert.deepEqual(s.deprecations('thing-add', { kind: 'disk', paths: [] }), []);
  assert.deepEqual(s.deprecations('thing-add', { kind: 'legacy', old: true }), [
    "thing-add: value 'legacy' of 'arguments.kind' is deprecated",
    "thing-add: member 'arguments.old' is deprecated",
  ]);
  const q = loadQemu72Schema();
  assert.deepEqual(q.deprecations('eject', { device: 'cd0' }), ["eject: member 'arguments.device' is deprecated"]);
  assert.deepEqual(q.deprecations('eject', { id: 'cd0' }), []);
  assert.deepEqual(q.deprecations('drive-backup', { device: 'd', target: 't', sync: 'full' }), [
    "command 'drive-backup' is deprecated",
  ]);
});

test('the QEMU 7.2 data loads: 1051 entries, 216 commands, 52 events, device_add passes through', () => {
  const entries = loadQemu72Introspection();
  assert.equal(entries.length, 1051);
  const s = loadQemu72Schema();
  assert.equal(s.commands().length, 216);
  assert.equal(s.events().length, 52);
  assert.equal(s.commandNames().length, 216);
  assert.deepEqual(
    s
      .commands()
      .filter((c) => c.allowOob)
      .map((c) => c.name),
    ['migrate-pause', 'migrate-recover', 'query-yank', 'yank'],
  );
  assert.equal(s.command('device_add')?.gen, false);
  assert.equal(s.command('blockdev-add')?.gen, true);
  assert.equal(s.typeName('518'), 'BlockdevRef', 'alternate names come from the hints');
  assert.equal(s.validateArguments('device_add', { driver: 'usb-tablet', anything: [1] }), undefined);
  assert.equal(s.validateArguments('device_add', {})?.desc, "Parameter 'driver' is missing");
});

test('hints refine only `int` members, and are found by QEMU version', () => {
  assert.equal(qemuIntrospectionHints({ major: 7, minor: 2 }), QEMU_7_2_HINTS);
  assert.equal(qemuIntrospectionHints({ major: 8, minor: 0 }), undefined);
  const s = QapiSchema.fromIntrospection(SMALL, {
    hints: { types: { ThingInfo: { members: { size: 'uint8', id: 'uint8' }, name: 'Thing' } } },
  });
  const info = s.type('1');
  assert.ok(info?.metaType === 'object');
  assert.deepEqual(
    info.members.map((m) => m.type),
    ['str', 'uint8'],
    'id is a str, so its hint is ignored',
  );
  assert.equal(s.typeName('1'), 'Thing');
  assert.equal(s.validateValue('1', { id: 'x', size: 256 })?.desc, "Parameter 'size' expects uint8_t");
});
