import type { QapiBuiltinName, QapiBuiltinType, QapiJsonType } from './qapi-type.js';

/** JSON type of each QAPI built-in type, as introspection reports it. */
export const QAPI_BUILTINS: Readonly<Record<QapiBuiltinName, QapiJsonType>> = {
  str: 'string',
  number: 'number',
  int: 'int',
  int8: 'int',
  int16: 'int',
  int32: 'int',
  int64: 'int',
  uint8: 'int',
  uint16: 'int',
  uint32: 'int',
  uint64: 'int',
  size: 'int',
  bool: 'boolean',
  null: 'null',
  any: 'value',
};

/** True when `name` is one of the QAPI built-in type names. */
export function isQapiBuiltinName(name: string): name is QapiBuiltinName {
  return Object.hasOwn(QAPI_BUILTINS, name);
}

/** The builtin type definitions, one per name. */
export function qapiBuiltinTypes(): QapiBuiltinType[] {
  return (Object.keys(QAPI_BUILTINS) as QapiBuiltinName[]).map((name) => ({
    metaType: 'builtin',
    name,
    jsonType: QAPI_BUILTINS[name],
    features: [],
  }));
}
