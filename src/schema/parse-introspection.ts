import { QmpSchemaError } from '../errors/index.js';
import { qapiBuiltinTypes } from './qapi-builtins.js';
import type {
  QapiAlternateMember,
  QapiCommand,
  QapiEnumMember,
  QapiEvent,
  QapiJsonType,
  QapiMember,
  QapiType,
  QapiVariant,
} from './qapi-type.js';

/** The definitions read from one source, before they are indexed. */
export interface QapiDefinitions {
  readonly types: QapiType[];
  readonly commands: QapiCommand[];
  readonly events: QapiEvent[];
}

const JSON_TYPES: ReadonlySet<string> = new Set([
  'string',
  'number',
  'int',
  'boolean',
  'null',
  'object',
  'array',
  'value',
]);

type Entry = Record<string, unknown>;

function isEntry(v: unknown): v is Entry {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Reads `query-qmp-schema` output (the array of `SchemaInfo`, or the whole `{"return": [...]}`
 * reply) into definitions. Throws `QmpSchemaError` naming the entry when one is malformed.
 */
export function parseIntrospection(input: unknown): QapiDefinitions {
  const entries = isEntry(input) && Array.isArray(input['return']) ? (input['return'] as unknown[]) : input;
  if (!Array.isArray(entries)) throw new QmpSchemaError('Introspection data must be an array of SchemaInfo objects');
  const out: QapiDefinitions = { types: [], commands: [], events: [] };
  const seen = new Set<string>();
  entries.forEach((e, i) => {
    const where = (what: string): QmpSchemaError =>
      new QmpSchemaError(
        `Introspection entry ${i}${isEntry(e) && typeof e['name'] === 'string' ? ` ('${e['name']}')` : ''}: ${what}`,
      );
    if (!isEntry(e)) throw where('not an object');
    const name = e['name'];
    const metaType = e['meta-type'];
    if (typeof name !== 'string' || name === '') throw where("'name' must be a non-empty string");
    if (typeof metaType !== 'string') throw where("'meta-type' must be a string");
    if (seen.has(`${metaType === 'command' || metaType === 'event' ? metaType : 'type'}:${name}`))
      throw where('duplicate name');
    seen.add(`${metaType === 'command' || metaType === 'event' ? metaType : 'type'}:${name}`);
    const features = stringList(e['features'], where, 'features');
    const str = (key: string): string => {
      const v = e[key];
      if (typeof v !== 'string' || v === '') throw where(`'${key}' must be a non-empty string`);
      return v;
    };
    switch (metaType) {
      case 'builtin': {
        const jsonType = str('json-type');
        if (!JSON_TYPES.has(jsonType)) throw where(`unknown json-type '${jsonType}'`);
        out.types.push({ metaType: 'builtin', name, jsonType: jsonType as QapiJsonType, features });
        break;
      }
      case 'enum': {
        let members: QapiEnumMember[];
        if (Array.isArray(e['members'])) {
          members = e['members'].map((m, j) => {
            if (!isEntry(m) || typeof m['name'] !== 'string') throw where(`members[${j}] must be {name, features?}`);
            return { name: m['name'], features: stringList(m['features'], where, `members[${j}].features`) };
          });
        } else {
          // Before 6.2 enums had only the `values` list.
          members = stringList(e['values'], where, 'values').map((v) => ({ name: v, features: [] }));
        }
        out.types.push({ metaType: 'enum', name, members, features });
        break;
      }
      case 'array':
        out.types.push({ metaType: 'array', name, elementType: str('element-type'), features });
        break;
      case 'object': {
        if (!Array.isArray(e['members'])) throw where("'members' must be an array");
        const members: QapiMember[] = e['members'].map((m, j) => {
          if (!isEntry(m) || typeof m['name'] !== 'string' || typeof m['type'] !== 'string')
            throw where(`members[${j}] must be {name, type, default?, features?}`);
          return {
            name: m['name'],
            type: m['type'],
            optional: Object.hasOwn(m, 'default'),
            features: stringList(m['features'], where, `members[${j}].features`),
          };
        });
        const tag = e['tag'];
        let variants: QapiVariant[] | undefined;
        if (tag !== undefined) {
          if (typeof tag !== 'string' || !members.some((m) => m.name === tag))
            throw where("'tag' must name one of the members");
          if (!Array.isArray(e['variants'])) throw where("'variants' must be an array when 'tag' is set");
          variants = e['variants'].map((v, j) => {
            if (!isEntry(v) || typeof v['case'] !== 'string' || typeof v['type'] !== 'string')
              throw where(`variants[${j}] must be {case, type}`);
            return { case: v['case'], type: v['type'] };
          });
        }
        out.types.push({ metaType: 'object', name, members, tag, variants, features });
        break;
      }
      case 'alternate': {
        if (!Array.isArray(e['members'])) throw where("'members' must be an array");
        const members: QapiAlternateMember[] = e['members'].map((m, j) => {
          if (!isEntry(m) || typeof m['type'] !== 'string') throw where(`members[${j}] must be {type}`);
          return { type: m['type'] };
        });
        out.types.push({ metaType: 'alternate', name, members, features });
        break;
      }
      case 'command':
        out.commands.push({
          metaType: 'command',
          name,
          argType: str('arg-type'),
          retType: str('ret-type'),
          allowOob: e['allow-oob'] === true,
          allowPreconfig: undefined,
          boxed: false,
          gen: true,
          successResponse: true,
          features,
        });
        break;
      case 'event':
        out.events.push({ metaType: 'event', name, argType: str('arg-type'), boxed: false, features });
        break;
      default:
        throw where(`unknown meta-type '${metaType}'`);
    }
  });
  // Builtins a server never lists (int widths) are added so refinements can name them.
  const typeNames = new Set(out.types.map((t) => t.name));
  for (const b of qapiBuiltinTypes()) if (!typeNames.has(b.name)) out.types.push(b);
  return out;
}

function stringList(v: unknown, where: (what: string) => QmpSchemaError, key: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw where(`'${key}' must be an array of strings`);
  return v as string[];
}
