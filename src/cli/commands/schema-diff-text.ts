import type { SchemaChange, SchemaDiff } from '../../schema/index.js';

function line(c: SchemaChange): string {
  const detail = c.detail === undefined ? '' : `: ${c.detail}`;
  return `  ${c.kind.padEnd(10)} ${c.entity.padEnd(11)} ${c.name}${detail}`;
}

/**
 * A schema diff for people: a summary line, then the changes that can break a client, then the
 * compatible ones, one per line (`kind entity name: detail`), so `grep` works on it.
 */
export function formatSchemaDiff(diff: SchemaDiff, from: string, to: string): string {
  if (diff.changes.length === 0) return `${from} -> ${to}: no differences\n`;
  const compatible = diff.changes.length - diff.breaking;
  const out = [`${from} -> ${to}: ${diff.breaking} breaking for clients, ${compatible} compatible`];
  const breaking = diff.changes.filter((c) => c.breaking);
  if (breaking.length > 0) out.push('', 'Breaking for clients:', ...breaking.map(line));
  if (compatible > 0) out.push('', 'Compatible:', ...diff.changes.filter((c) => !c.breaking).map(line));
  return `${out.join('\n')}\n`;
}
