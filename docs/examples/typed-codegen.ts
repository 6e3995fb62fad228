// Generating types from code instead of `qmpkit gen`: the same functions the command uses.
// In a project that depends on qmpkit, compiled to typed-codegen.js:
// node typed-codegen.js path/to/qemu/qapi/qapi-schema.json > qmp-types.ts
import { generateTypeScript } from 'qmpkit/codegen';
import { loadQemu72Introspection, QapiSchema } from 'qmpkit/schema';

const source = process.argv[2];
const schema =
  source === undefined
    ? QapiSchema.fromIntrospection(loadQemu72Introspection()) // derived names: BlockdevAddArguments, ...
    : QapiSchema.fromQapiFile(source); // QEMU's names and doc comments: BlockdevOptions, ...
process.stdout.write(generateTypeScript(schema, { source: source ?? 'qmp-schema-7.2.json' }));
