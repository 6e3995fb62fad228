/**
 * The QAPI schema model: one shape for what QEMU's introspection (`query-qmp-schema`) says and for
 * what QAPI source files (`qapi/*.json`) say. Type references are plain names; arrays are written
 * `[T]` in both cases, as introspection does.
 */

/** A type reference: the name of a type of the same schema (`'str'`, `'BlockdevOptions'`, `'49'`, `'[int]'`). */
export type QapiTypeRef = string;

/** The built-in scalar types of the QAPI language. Introspection collapses every integer width to `int`. */
export type QapiBuiltinName =
  | 'str'
  | 'number'
  | 'int'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'size'
  | 'bool'
  | 'null'
  | 'any';

/** JSON types as introspection names them (`json-type` of a builtin). */
export type QapiJsonType = 'string' | 'number' | 'int' | 'boolean' | 'null' | 'object' | 'array' | 'value';

/** Where a definition came from in a QAPI source file, for error messages and docs. */
export interface QapiSourceInfo {
  readonly file: string;
  readonly line: number;
}

/**
 * A QAPI `if` condition as written in the source: a config symbol, or `all`/`any`/`not` of
 * conditions. Introspection never shows conditions: it lists only what the binary compiled in.
 */
export type QapiCondition =
  | string
  | { readonly all: readonly QapiCondition[] }
  | { readonly any: readonly QapiCondition[] }
  | { readonly not: QapiCondition };

/** Parts shared by every definition. */
export interface QapiDefinitionBase {
  /** QEMU's name. From introspection, type names are decimal numbers (`"49"`) except builtins and arrays. */
  readonly name: string;
  /** Feature names (`deprecated`, `unstable`, `json-cli`, ...). */
  readonly features: readonly string[];
  /** Documentation from a `##` doc comment (QAPI source only). */
  readonly doc?: string | undefined;
  /** `if` condition (QAPI source only). */
  readonly ifCond?: QapiCondition | undefined;
  /** Source location (QAPI source only). */
  readonly info?: QapiSourceInfo | undefined;
}

/** A built-in scalar type (`str`, `int`, `any`, ...). */
export interface QapiBuiltinType extends QapiDefinitionBase {
  readonly metaType: 'builtin';
  readonly jsonType: QapiJsonType;
}

/** One value of an enum. */
export interface QapiEnumMember {
  readonly name: string;
  readonly features: readonly string[];
  readonly doc?: string | undefined;
  readonly ifCond?: QapiCondition | undefined;
}

/** An enum: on the wire, one of the member names as a string. */
export interface QapiEnumType extends QapiDefinitionBase {
  readonly metaType: 'enum';
  readonly members: readonly QapiEnumMember[];
}

/** A list of `elementType`. Its name is `[elementType]`. */
export interface QapiArrayType extends QapiDefinitionBase {
  readonly metaType: 'array';
  readonly elementType: QapiTypeRef;
}

/** A member of an object type. */
export interface QapiMember {
  readonly name: string;
  readonly type: QapiTypeRef;
  readonly optional: boolean;
  readonly features: readonly string[];
  readonly doc?: string | undefined;
  readonly ifCond?: QapiCondition | undefined;
}

/** One branch of a flat union: when the tag member equals `case`, the members of `type` are present too. */
export interface QapiVariant {
  readonly case: string;
  readonly type: QapiTypeRef;
}

/**
 * A struct, or a flat union when `tag` is set. `members` are all the members on the wire that do
 * not depend on the tag (base members first, as QEMU visits them); each variant adds the members of
 * its own object type.
 */
export interface QapiObjectType extends QapiDefinitionBase {
  readonly metaType: 'object';
  readonly members: readonly QapiMember[];
  readonly tag?: string | undefined;
  readonly variants?: readonly QapiVariant[] | undefined;
  /** The named base type (QAPI source only; its members are already in `members`). */
  readonly base?: QapiTypeRef | undefined;
  /**
   * True for types QAPI creates for inline definitions (`q_obj_blockdev-add-arg`, `q_empty`); code
   * generators name these after their context instead.
   */
  readonly implicit?: boolean | undefined;
}

/** One branch of an alternate. The branch is chosen by the JSON type of the value. */
export interface QapiAlternateMember {
  /** Branch name (QAPI source only; introspection has no branch names). */
  readonly name?: string | undefined;
  readonly type: QapiTypeRef;
}

/** An alternate: a value of one of several types that differ in JSON type. */
export interface QapiAlternateType extends QapiDefinitionBase {
  readonly metaType: 'alternate';
  readonly members: readonly QapiAlternateMember[];
}

/** Any type of the model. */
export type QapiType = QapiBuiltinType | QapiEnumType | QapiArrayType | QapiObjectType | QapiAlternateType;

/** A command. */
export interface QapiCommand extends QapiDefinitionBase {
  readonly metaType: 'command';
  /** Object type of the arguments; `undefined` when the command takes none (introspection uses an empty object). */
  readonly argType: QapiTypeRef | undefined;
  /** Return type; `undefined` when the command returns `{}` (introspection uses an empty object). */
  readonly retType: QapiTypeRef | undefined;
  /** May be sent with `exec-oob`. */
  readonly allowOob: boolean;
  /** May run before machine initialization (QAPI source only; `undefined` when unknown). */
  readonly allowPreconfig: boolean | undefined;
  /** The argument type is a named type passed as a whole (`'boxed': true`). */
  readonly boxed: boolean;
  /**
   * False for `'gen': false` commands such as `device_add`: QEMU has no generated unmarshaller for
   * them, so arguments outside the declared members pass through to the command.
   */
  readonly gen: boolean;
  /** `'success-response': false` (QEMU Guest Agent only). */
  readonly successResponse: boolean;
}

/** An event. */
export interface QapiEvent extends QapiDefinitionBase {
  readonly metaType: 'event';
  /** Object type of the event's `data`; `undefined` when it has none. */
  readonly argType: QapiTypeRef | undefined;
  readonly boxed: boolean;
}

/** Where a schema came from. */
export type QapiSchemaOrigin = 'introspection' | 'qapi-source';
