// schema/: the QAPI schema model, read from QEMU's introspection (`query-qmp-schema`) or from QAPI
// source files (`qapi/*.json`), and values checked against it exactly as QEMU's input visitor does.
// Imports only errors/ and limits.ts (and node:*): never wire, protocol, client, server or above.
export { deriveTypeNames, isNamedKind, isNumberedName, pascalCase } from './derive-type-names.js';
export { firstUnexpectedKey } from './first-unexpected-key.js';
export { loadQemu72Introspection, loadQemu72Schema } from './load-qemu-72.js';
export { loadQgaSchema } from './load-qga-schema.js';
export { parseIntrospection, type QapiDefinitions } from './parse-introspection.js';
export { isQapiBuiltinName, QAPI_BUILTINS } from './qapi-builtins.js';
export {
  QAPI_GEN_FALSE_COMMANDS,
  type QapiIntrospectionHints,
  type QapiIntrospectionOptions,
  QapiSchema,
} from './qapi-schema.js';
export type {
  QapiAlternateMember,
  QapiAlternateType,
  QapiArrayType,
  QapiBuiltinName,
  QapiBuiltinType,
  QapiCommand,
  QapiCondition,
  QapiDefinitionBase,
  QapiEnumMember,
  QapiEnumType,
  QapiEvent,
  QapiJsonType,
  QapiMember,
  QapiObjectType,
  QapiSchemaOrigin,
  QapiSourceInfo,
  QapiType,
  QapiTypeRef,
  QapiVariant,
} from './qapi-type.js';
export {
  defaultNumberKind,
  type QapiNumberKind,
  type QapiValidateOptions,
  type QapiValidationIssue,
  QapiValidator,
} from './qapi-validator.js';
export { QEMU_7_2_HINTS } from './qemu-72-hints.js';
export {
  bundledReleaseFor,
  firstReleaseWith,
  loadReleaseSchema,
  type QemuVersionNumber,
  qemuIntrospectionHints,
} from './release-schema.js';
export {
  isQemuRelease,
  loadReleaseIntrospection,
  loadReleaseVersion,
  QEMU_RELEASES,
  type QemuRelease,
  type RecordedVersion,
} from './releases.js';
export {
  diffSchemas,
  type SchemaChange,
  type SchemaChangeEntity,
  type SchemaChangeKind,
  type SchemaDiff,
} from './schema-diff.js';
