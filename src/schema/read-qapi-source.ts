import { QmpSchemaError } from '../errors/index.js';
import type { QapiDefinitions } from './parse-introspection.js';

/** Reads QAPI source files into definitions. */
export function readQapiSource(input: { path: string; text?: string }): QapiDefinitions {
  throw new QmpSchemaError(`QAPI source reading is not implemented yet (${input.path})`);
}
