import { fileURLToPath } from 'node:url';
import { QapiSchema } from './qapi-schema.js';

/**
 * The guest agent's schema, read from QEMU's QAPI source shipped in the package's
 * `data/qga/qapi-schema.json` (this module runs as dist/src/schema/*.js, three levels below the
 * root). Real type names; commands carry `successResponse`. A fresh model on every call.
 */
export function loadQgaSchema(): QapiSchema {
  return QapiSchema.fromQapiFile(fileURLToPath(new URL('../../../data/qga/qapi-schema.json', import.meta.url)));
}
