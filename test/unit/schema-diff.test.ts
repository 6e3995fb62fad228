import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  diffSchemas,
  loadReleaseIntrospection,
  QapiSchema,
  type SchemaChange,
  type SchemaDiff,
} from '../../src/schema/index.js';

// Two small introspections in QEMU's shape. The numbering differs on purpose: types are matched by
// where they are used, not by their numbers.
const OLD = [
  { name: 'thing-add', 'meta-type': 'command', 'arg-type': '1', 'ret-type': '0' },
  { name: 'query-thing', 'meta-type': 'command', 'arg-type': '0', 'ret-type': '2' },
  { name: 'old-cmd', 'meta-type': 'command', 'arg-type': '0', 'ret-type': '0' },
  { name: 'fast-cmd', 'meta-type': 'command', 'arg-type': '0', 'ret-type': '0', 'allow-oob': true },
  { name: 'GONE', 'meta-type': 'event', 'arg-type': '0' },
  { name: 'THING', 'meta-type': 'event', 'arg-type': '2' },
  { name: '0', 'meta-type': 'object', members: [] },
  {
    name: '1',
    'meta-type': 'object',
    members: [
      { name: 'id', type: 'str' },
      { name: 'mode', type: '3', default: null },
      { name: 'size', type: 'int', default: null },
      { name: 'legacy', type: 'bool', default: null },
      { name: 'name', type: 'str' },
      { name: 'target', type: 'str' },
    ],
  },
  {
    name: '2',
    'meta-type': 'object',
    members: [
      { name: 'id', type: 'str' },
      { name: 'count', type: 'int' },
      { name: 'extra', type: 'str', default: null },
    ],
  },
  { name: '3', 'meta-type': 'enum', members: [{ name: 'fast' }, { name: 'slow' }, { name: 'old' }] },
  { name: 'str', 'meta-type': 'builtin', 'json-type': 'string' },
  { name: 'int', 'meta-type': 'builtin', 'json-type': 'int' },
  { name: 'bool', 'meta-type': 'builtin', 'json-type': 'boolean' },
];

const NEW = [
  { name: 'thing-add', 'meta-type': 'command', 'arg-type': '10', 'ret-type': '0' },
  { name: 'query-thing', 'meta-type': 'command', 'arg-type': '0', 'ret-type': '12' },
  { name: 'old-cmd', 'meta-type': 'command', 'arg-type': '0', 'ret-type': '0', features: ['deprecated'] },
  { name: 'fast-cmd', 'meta-type': 'command', 'arg-type': '0', 'ret-type': '0' },
  { name: 'new-cmd', 'meta-type': 'command', 'arg-type': '0', 'ret-type': '0', features: ['unstable'] },
  { name: 'THING', 'meta-type': 'event', 'arg-type': '12' },
  { name: '0', 'meta-type': 'object', members: [] },
  {
    name: '10',
    'meta-type': 'object',
    members: [
      { name: 'id', type: 'str' },
      { name: 'mode', type: '13' },
      { name: 'size', type: 'str', default: null },
      { name: 'name', type: 'str', default: null },
      { name: 'target', type: '14' },
      { name: 'force', type: 'bool' },
      { name: 'hint', type: 'str', default: null, features: ['unstable'] },
    ],
  },
  {
    name: '12',
    'meta-type': 'object',
    members: [
      { name: 'id', type: 'str', features: ['fdset'] },
      { name: 'count', type: 'int', default: null },
      { name: 'extra', type: 'str' },
    ],
  },
  {
    name: '13',
    'meta-type': 'enum',
    members: [{ name: 'fast' }, { name: 'slow', features: ['deprecated'] }, { name: 'turbo' }],
  },
  { name: '14', 'meta-type': 'alternate', members: [{ type: 'str' }, { type: 'int' }] },
  { name: 'str', 'meta-type': 'builtin', 'json-type': 'string' },
  { name: 'int', 'meta-type': 'builtin', 'json-type': 'int' },
  { name: 'bool', 'meta-type': 'builtin', 'json-type': 'boolean' },
];

function find(d: SchemaDiff, kind: SchemaChange['kind'], name: string, detail?: string): SchemaChange {
  const c = d.changes.find((x) => x.kind === kind && x.name === name && (detail === undefined || x.detail === detail));
  assert.ok(c, `no ${kind} ${name} ${detail ?? ''} in:\n${d.changes.map((x) => JSON.stringify(x)).join('\n')}`);
  return c;
}

test('diffSchemas: a schema against itself has no changes', () => {
  const s = QapiSchema.fromIntrospection(OLD);
  assert.deepEqual(diffSchemas(s, QapiSchema.fromIntrospection(OLD)), { changes: [], breaking: 0 });
});

test('diffSchemas: every kind of change, each classified for clients', () => {
  const d = diffSchemas(QapiSchema.fromIntrospection(OLD), QapiSchema.fromIntrospection(NEW));
  const breaking = (kind: SchemaChange['kind'], name: string, detail?: string): void =>
    assert.equal(find(d, kind, name, detail).breaking, true, `${kind} ${name} should be breaking`);
  const compatible = (kind: SchemaChange['kind'], name: string, detail?: string): void =>
    assert.equal(find(d, kind, name, detail).breaking, false, `${kind} ${name} should be compatible`);

  breaking('removed', 'GONE');
  compatible('added', 'new-cmd');
  compatible('unstable', 'new-cmd');
  compatible('deprecated', 'old-cmd');
  breaking('changed', 'fast-cmd', 'allow-oob removed');
  // Arguments (clients send them).
  breaking('removed', 'ThingAddArguments.legacy');
  breaking('changed', 'ThingAddArguments.mode', 'optional -> required');
  compatible('changed', 'ThingAddArguments.name', 'required -> optional');
  breaking('changed', 'ThingAddArguments.size', 'type int -> str');
  compatible('changed', 'ThingAddArguments.target', 'type str -> ThingAddArgumentsTarget');
  breaking('added', 'ThingAddArguments.force', 'required');
  compatible('added', 'ThingAddArguments.hint');
  compatible('unstable', 'ThingAddArguments.hint');
  breaking('removed', "ThingAddArgumentsMode 'old'");
  compatible('added', "ThingAddArgumentsMode 'turbo'");
  compatible('deprecated', "ThingAddArgumentsMode 'slow'");
  // Returns and event data (clients read them).
  breaking('changed', 'ThingInfo.count', 'required -> optional');
  compatible('changed', 'ThingInfo.extra', 'optional -> required');
  compatible('changed', 'ThingInfo.id', "feature 'fdset' added");
  assert.equal(d.breaking, d.changes.filter((c) => c.breaking).length);
  assert.equal(d.breaking, 8);
  // Breaking changes come first.
  const firstCompatible = d.changes.findIndex((c) => !c.breaking);
  assert.ok(d.changes.slice(firstCompatible).every((c) => !c.breaking));
});

test('diffSchemas: QEMU 7.2 to 10.0, changes known from QEMU’s changelogs', () => {
  const load = (r: '7.2' | '10.0'): QapiSchema => QapiSchema.fromIntrospection(loadReleaseIntrospection(r));
  const d = diffSchemas(load('7.2'), load('10.0'));
  // Removed between 8.0 and 10.0 (RDMA migration, block migration, compression, singlestep).
  assert.equal(find(d, 'removed', 'x-query-rdma').breaking, true);
  assert.equal(find(d, 'removed', 'RDMA_GID_STATUS_CHANGED').entity, 'event');
  assert.equal(find(d, 'removed', 'MigrateArguments.blk').breaking, true);
  assert.equal(find(d, 'removed', 'MigrateSetParametersArguments.compress-level').breaking, true);
  assert.equal(find(d, 'removed', 'StatusInfo.singlestep').breaking, true);
  assert.equal(find(d, 'removed', "TargetInfoArch 'nios2'").entity, 'enum-value');
  // Added in 8.x, 9.x and 10.0.
  assert.equal(find(d, 'added', 'query-audiodevs').breaking, false);
  assert.equal(find(d, 'added', 'block-job-change').breaking, false);
  assert.equal(find(d, 'added', 'blockdev-set-active').entity, 'command');
  assert.equal(find(d, 'added', 'NETDEV_VHOST_USER_CONNECTED').entity, 'event');
  assert.equal(find(d, 'added', "ObjectAddArguments 'memory-backend-shm'").entity, 'branch');
  // Deprecated by 10.0.
  assert.equal(find(d, 'deprecated', 'query-migrationthreads').breaking, false);
  assert.equal(find(d, 'deprecated', 'ChardevAddArgumentsBackendSocketData.reconnect').entity, 'member');
  assert.equal(find(d, 'deprecated', "BlockdevAddArgumentsDriver 'gluster'").entity, 'enum-value');
  assert.equal(find(d, 'changed', 'MigrateArguments.uri', 'required -> optional').breaking, false);
  assert.ok(d.breaking > 0);
});
