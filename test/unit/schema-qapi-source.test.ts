import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { generateTypeScript } from '../../src/codegen/index.js';
import { QmpSchemaError } from '../../src/errors/index.js';
import { QapiSchema } from '../../src/schema/index.js';
import type { Commands as DemoCommands, DemoDevice } from '../fixtures/qapi/demo-types.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const DEMO = join(ROOT, 'test/fixtures/qapi/demo-schema.json');

test('reads every construct of the demo schema: include, pragma, if, features, docs', () => {
  const s = QapiSchema.fromQapiFile(DEMO);
  assert.equal(s.origin, 'qapi-source');
  assert.deepEqual(
    s.commands().map((c) => c.name),
    ['demo-add', 'demo-create', 'demo-echo', 'demo-list', 'demo-plug'],
  );
  // include (twice: read once), relative to the including file
  const identity = s.type('DemoIdentity');
  assert.equal(identity?.metaType, 'object');
  assert.match(identity.info?.file ?? '', /sub\/common\.json$/);
  assert.equal(identity.doc, 'Identifies a device.');
  // Doc comments are raw text: no escape processing.
  assert.equal(identity.metaType === 'object' && identity.members[0]?.doc, 'the device id (a path backslash: \\\\)');
  // enum: features, if, member docs with continuation lines, sections kept as text
  const kind = s.type('DemoKind');
  assert.ok(kind?.metaType === 'enum');
  assert.deepEqual(
    kind.members.map((m) => [m.name, m.features, m.ifCond, m.doc]),
    [
      ['disk', [], undefined, 'a disk'],
      ['net', [], undefined, 'a network card, described on two lines'],
      ['tape', ['deprecated'], undefined, 'a tape drive (going away)'],
      ['serial', [], 'CONFIG_SERIAL', undefined],
    ],
  );
  assert.equal(kind.doc, 'What a demo device is.\n\nSince: 1.0');
  // union with a named base that has a base: members flattened base-first, tag, all enum values branch
  const dev = s.type('DemoDevice');
  assert.ok(dev?.metaType === 'object');
  assert.deepEqual(
    dev.members.map((m) => m.name),
    ['id', 'kind'],
  );
  assert.equal(dev.tag, 'kind');
  assert.equal(dev.base, 'DemoDeviceBase');
  assert.deepEqual(dev.variants, [
    { case: 'disk', type: 'DemoDisk' },
    { case: 'net', type: 'DemoNet' },
    { case: 'tape', type: 'q_empty' },
    { case: 'serial', type: 'q_empty' },
  ]);
  assert.deepEqual(dev.features, ['unstable']);
  // inline union base is an implicit type
  const opt = s.type('DemoOption');
  assert.ok(opt?.metaType === 'object');
  assert.equal(opt.base, 'q_obj_DemoOption-base');
  const implicitBase = s.type('q_obj_DemoOption-base');
  assert.ok(implicitBase?.metaType === 'object' && implicitBase.implicit === true);
  assert.deepEqual(
    implicitBase.members.map((m) => m.name),
    ['type', 'verbose'],
  );
  // alternate with branch names
  const ref = s.type('DemoRef');
  assert.ok(ref?.metaType === 'alternate');
  assert.deepEqual(ref.members, [
    { name: 'definition', type: 'DemoDevice' },
    { name: 'reference', type: 'str' },
    { name: 'none', type: 'null' },
  ]);
  // commands: implicit argument type, if, allow-preconfig, boxed, gen: false, allow-oob, success-response
  const add = s.command('demo-add')!;
  assert.equal(add.argType, 'q_obj_demo-add-arg');
  assert.equal(add.retType, 'DemoIdentity');
  assert.equal(add.allowPreconfig, true);
  assert.deepEqual(add.ifCond, { all: ['CONFIG_DEMO', { any: ['TARGET_X86_64', 'TARGET_AARCH64'] }] });
  assert.match(
    add.doc ?? '',
    /^Adds a device\.\n\nReturns: the new device's id\n\nNotes: the id is unique,\neven across hot-unplug\.\n\nSince: 1\.0$/,
    'examples are left out',
  );
  const addArgs = s.type('q_obj_demo-add-arg');
  assert.ok(addArgs?.metaType === 'object' && addArgs.implicit === true);
  assert.deepEqual(
    addArgs.members.map((m) => [m.name, m.type, m.optional, m.features, m.ifCond]),
    [
      ['device', 'DemoRef', false, [], undefined],
      ['options', '[DemoOption]', true, [], undefined],
      ['weight', 'size', true, [], undefined],
      ['tag', 'any', true, ['deprecated'], undefined],
      ['legacy', 'str', true, [], { not: 'CONFIG_MODERN' }],
    ],
  );
  assert.equal(s.command('demo-create')?.boxed, true);
  assert.equal(s.command('demo-create')?.argType, 'DemoDevice');
  assert.equal(s.command('demo-plug')?.gen, false);
  assert.equal(s.command('demo-list')?.allowOob, true);
  assert.deepEqual(s.command('demo-list')?.features, ['deprecated']);
  assert.equal(s.command('demo-echo')?.successResponse, false);
  // events: inline data, boxed named data, none
  assert.equal(s.event('DEMO_CHANGED')?.argType, 'q_obj_DEMO_CHANGED-arg');
  assert.equal(s.event('DEMO_BOXED')?.boxed, true);
  assert.equal(s.event('DEMO_PING')?.argType, undefined);
  // QType is defined on use
  assert.equal(s.type('QType')?.metaType, 'enum');
  // features with 'if' are read by name
  assert.deepEqual(s.type('DemoCache')?.features, ['dynamic']);
});

test('validation from QAPI source uses the real widths and names', () => {
  const s = QapiSchema.fromQapiFile(DEMO);
  const dev = { kind: 'disk', id: 'd0', path: '/x' };
  assert.equal(s.validateArguments('demo-add', { device: dev }), undefined);
  assert.equal(s.validateArguments('demo-add', { device: 'd0', weight: -1 }), undefined, 'size wraps');
  assert.equal(
    s.validateArguments('demo-add', { device: { ...dev, sectors: 2 ** 32 } })?.desc,
    "Parameter 'sectors' expects uint32_t",
  );
  assert.equal(
    s.validateArguments('demo-add', { device: 5 })?.desc,
    "Invalid parameter type for 'device', expected: DemoRef",
  );
  assert.equal(
    s.validateArguments('demo-add', { device: null, options: [{ type: 'number', value: 200 }] })?.desc,
    "Parameter 'value' expects int8_t",
  );
  assert.equal(
    s.validateArguments('demo-create', { kind: 'net', id: 'n', mac: 'm', queues: [70000] })?.desc,
    "Parameter 'null' expects uint16_t",
  );
  assert.equal(s.validateArguments('demo-create', { kind: 'tape', id: 't' }), undefined);
  assert.equal(
    s.validateArguments('demo-plug', { driver: 'x', anything: 1 }),
    undefined,
    'gen: false passes extra members',
  );
  assert.equal(s.validateArguments('demo-plug', {})?.desc, "Parameter 'driver' is missing");
  assert.deepEqual(s.deprecations('demo-add', { device: { kind: 'tape', id: 't' }, tag: 1 }), [
    "demo-add: value 'tape' of 'arguments.device.kind' is deprecated",
    "demo-add: member 'arguments.tag' is deprecated",
  ]);
  assert.equal(s.typeName('q_obj_demo-add-arg'), 'DemoAddArguments');
  assert.equal(s.typeName('DemoDevice'), 'DemoDevice');
});

test('the committed demo types are what the generator prints (and they type-check)', () => {
  const text = generateTypeScript(QapiSchema.fromQapiFile(DEMO), {
    source: 'test/fixtures/qapi/demo-schema.json',
    regenerate: 'qmpkit gen --from-qapi test/fixtures/qapi/demo-schema.json -o test/fixtures/qapi/demo-types.ts',
  });
  assert.equal(text, readFileSync(join(ROOT, 'test/fixtures/qapi/demo-types.ts'), 'utf8'));
  // Compile-time: QEMU's names from source, unions narrow, narrow ints are plain numbers.
  const d: DemoDevice = { kind: 'disk', id: 'd0', path: '/x', sectors: 8 };
  const args: DemoCommands['demo-add']['args'] = { device: d, weight: 10n };
  // @ts-expect-error 'net' devices need `mac`
  const bad: DemoDevice = { kind: 'net', id: 'n' };
  assert.ok(args && bad);
});

test('syntax and semantic errors name the file and line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-qapi-'));
  try {
    const fails = (text: string, re: RegExp): void => {
      const f = join(dir, 'bad.json');
      writeFileSync(f, text);
      assert.throws(
        () => QapiSchema.fromQapiFile(f),
        (e: unknown) => e instanceof QmpSchemaError && re.test(e.message),
        text,
      );
    };
    fails(
      "{ 'enum': 'E', 'data': [ 'a' ] }\n{ 'struct': 'S', 'data': { 'x': 'Nope' } }",
      /bad\.json:2: type 'Nope' is not defined/,
    );
    fails("{ 'struct': 'S', 'data': { 'x': \"str\" } }", /bad\.json:1: stray '"'/);
    fails("{ 'struct': 'S',\n  'data': { 'x': 'str' }", /bad\.json:2: unexpected end of file|expected/);
    fails("{ 'struct': 'S', 'data': { 'x': 'a\\nb' } }", /unknown escape \\n/);
    fails("{ 'include': 'missing.json' }", /bad\.json:1: cannot read .*missing\.json/);
    fails("{ 'struct': 'S', 'data': {}, 'data': {} }", /duplicate key 'data'/);
    fails("{ 'thing': 'S' }", /none of the keys/);
    fails("{ 'struct': 'S', 'data': {} }\n{ 'struct': 'S', 'data': {} }", /bad\.json:2: 'S' is already defined/);
    fails(
      "{ 'enum': 'K', 'data': ['a'] }\n{ 'union': 'U', 'base': { '*k': 'K' }, 'discriminator': 'k', 'data': {} }",
      /discriminator 'k' of 'U' must be a mandatory enum member/,
    );
    fails(
      "{ 'enum': 'K', 'data': ['a'] }\n{ 'union': 'U', 'base': { 'k': 'K' }, 'discriminator': 'k', 'data': { 'b': 'K' } }",
      /branch 'b' of 'U' is not a value of 'K'/,
    );
    fails("{ 'command': 'c', 'data': { 'x': 'str' }, 'boxed': true }", /'boxed': true needs 'data' to name a type/);
    fails("##\n# @x:\n{ 'struct': 'S', 'data': {} }", /documentation comment must end with '##'/);
    // Text without a file: includes resolve against the given path.
    const s = QapiSchema.fromQapiText("{ 'command': 'ping', 'returns': 'str' }", join(dir, 'x.json'));
    assert.equal(s.command('ping')?.retType, 'str');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
