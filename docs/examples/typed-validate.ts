// Checking arguments against QEMU 7.2's schema before sending them, and asking what a QEMU supports.
// In a project that depends on qmpkit, compiled to typed-validate.js: node typed-validate.js
import { loadQemu72Schema, QapiSchema } from 'qmpkit/schema';

const schema = loadQemu72Schema();

// undefined when valid; otherwise QEMU's own error text, a path, and a friendlier message.
const issue = schema.validateArguments('blockdev-add', { driver: 'qcow2', 'node-name': 'd0', file: { driver: 'nfs' } });
if (issue !== undefined) {
  console.log(issue.desc); // Parameter 'file.server' is missing
  console.log(issue.path); // arguments.file.server
  console.log(issue.message);
}

// Feature questions, answered from the schema (use the live one: see docs/typed-api.md).
console.log(schema.supports('blockdev-add', 'arguments.driver', 'null-co')); // true
console.log(schema.supports('query-block', 'returns.inserted.image.format')); // true
console.log(schema.supports('BLOCK_IO_ERROR', 'data.qom-path')); // false in 7.2 (added later)

// What a call uses that QEMU deprecated, for a warn-once.
console.log(schema.deprecations('eject', { device: 'ide1-cd0' })); // [ "eject: member 'arguments.device' is deprecated" ]

// Any introspection works: e.g. a schema saved from another QEMU with `query-qmp-schema`.
export function fromSaved(reply: unknown): QapiSchema {
  return QapiSchema.fromIntrospection(reply);
}
