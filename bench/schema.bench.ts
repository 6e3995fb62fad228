// The QAPI schema toolkit: loading QEMU 7.2's schema, validating `blockdev-add` arguments, and
// generating the TypeScript types. Each case prints one JSON line (see harness.ts); ops_per_s of the
// validation cases is arguments validated per second. The cost of `schema: 'fetch'` at connect
// belongs to the client's benchmarks.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { generateTypeScript } from '../src/codegen/index.js';
import { loadQemu72Schema, QapiSchema, QEMU_7_2_HINTS } from '../src/schema/index.js';
import { benchCase } from './harness.js';

const root = resolve(import.meta.dirname, '../..');
const text = readFileSync(resolve(root, 'data/qmp-schema-7.2.json'), 'utf8');

await benchCase({
  name: 'schema: load QEMU 7.2 introspection (1051 entries) into QapiSchema',
  baseline: { name: 'JSON.parse of the same file', fn: () => JSON.parse(text) },
  subject: {
    name: 'JSON.parse + QapiSchema.fromIntrospection (with 7.2 hints)',
    fn: () => QapiSchema.fromIntrospection(JSON.parse(text) as unknown, { hints: QEMU_7_2_HINTS }),
  },
  samples: 9,
  extra: { bytes: text.length },
});

const schema = loadQemu72Schema();
const valid = {
  driver: 'qcow2',
  'node-name': 'disk0',
  'read-only': false,
  cache: { direct: true, 'no-flush': false },
  discard: 'unmap',
  file: { driver: 'file', filename: '/var/lib/images/disk0.qcow2', aio: 'threads', locking: 'auto' },
  backing: null,
  'l2-cache-size': 1_048_576,
  'overlap-check': { template: 'cached', 'main-header': true },
};
if (schema.validateArguments('blockdev-add', valid) !== undefined) throw new Error('bench input must be valid');
const invalid = { ...valid, file: { ...valid.file, aio: 'bogus' } };
if (schema.validateArguments('blockdev-add', invalid) === undefined) throw new Error('bench input must be invalid');

await benchCase({
  name: 'schema: validate blockdev-add arguments (qcow2 over file, valid)',
  baseline: { name: 'JSON.stringify of the same arguments', fn: () => JSON.stringify(valid) },
  subject: { name: 'QapiSchema.validateArguments', fn: () => schema.validateArguments('blockdev-add', valid) },
});
await benchCase({
  name: 'schema: validate blockdev-add arguments (bad enum deep inside, error built)',
  baseline: { name: 'JSON.stringify of the same arguments', fn: () => JSON.stringify(invalid) },
  subject: { name: 'QapiSchema.validateArguments', fn: () => schema.validateArguments('blockdev-add', invalid) },
});

const fresh = QapiSchema.fromIntrospection(JSON.parse(text) as unknown);
await benchCase({
  name: 'codegen: TypeScript for QEMU 7.2 (216 commands, 52 events)',
  baseline: { name: 'JSON.stringify of the introspection', fn: () => JSON.stringify(fresh.types()) },
  subject: { name: 'generateTypeScript', fn: () => generateTypeScript(fresh) },
  samples: 7,
});
