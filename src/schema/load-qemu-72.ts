import { readFileSync } from 'node:fs';
import { QmpSchemaError } from '../errors/index.js';
import { QapiSchema } from './qapi-schema.js';
import { QEMU_7_2_HINTS } from './qemu-72-hints.js';

/** A file of the package's `data/`: this module runs as dist/src/schema/*.js, three levels below the root. */
function dataFile(name: string): URL {
  return new URL(`../../../data/${name}`, import.meta.url);
}

/**
 * QEMU 7.2's `query-qmp-schema` result (x86_64, 1051 `SchemaInfo` entries), as shipped in the
 * package's `data/qmp-schema-7.2.json`. A fresh array on every call.
 */
export function loadQemu72Introspection(): unknown[] {
  const url = dataFile('qmp-schema-7.2.json');
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(url, 'utf8'));
  } catch (e) {
    throw new QmpSchemaError(`Cannot read QEMU 7.2 schema data at ${url.pathname}`, { cause: e });
  }
  const list =
    typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && 'return' in parsed
      ? (parsed as { return: unknown }).return
      : parsed;
  if (!Array.isArray(list)) throw new QmpSchemaError(`${url.pathname} does not hold a query-qmp-schema result`);
  return list;
}

/**
 * QEMU 7.2's schema with the facts introspection leaves out (integer widths, alternate names,
 * `'gen': false` commands), as measured on the real 7.2 binary: validation then matches QEMU 7.2
 * exactly.
 */
export function loadQemu72Schema(): QapiSchema {
  return QapiSchema.fromIntrospection(loadQemu72Introspection(), { hints: QEMU_7_2_HINTS });
}
