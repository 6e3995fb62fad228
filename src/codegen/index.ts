// codegen/: prints a QAPI schema model (from schema/) as TypeScript declarations: the Commands and
// Events maps and one declaration per enum, struct, flat union and alternate, with stable names.
// Text in, text out: no TypeScript compiler API. Imports only schema, errors and limits.
export {
  type GenerateReleaseTypesOptions,
  generateReleaseTypes,
  type ReleaseSchema,
} from './generate-releases.js';
export { type GenerateTypeScriptOptions, generateTypeScript } from './generate-typescript.js';
export { tsDoc, tsPropertyKey, tsString } from './ts-text.js';
