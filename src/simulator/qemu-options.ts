import { readFileSync } from 'node:fs';
import { QmpUsageError } from '../errors/qmp-error.js';

/** QEMU's `key=value,key2=value2` option syntax; a leading bare word is returned under `implied`. */
export function parseKeyValues(text: string, implied?: string): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  // QEMU escapes a comma inside a value as ",,".
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === ',' && text[i + 1] === ',') {
      cur += ',';
      i++;
    } else if (c === ',') {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  parts.push(cur);
  parts.forEach((p, i) => {
    if (p === '') return;
    const eq = p.indexOf('=');
    if (eq === -1) {
      if (i === 0 && implied !== undefined) out[implied] = p;
      else if (p.startsWith('no') && p.length > 2) out[p.slice(2)] = 'off';
      else out[p] = 'on';
    } else out[p.slice(0, eq)] = p.slice(eq + 1);
  });
  return out;
}

/** A group of QEMU's config file (`[chardev "qmp"]` ...). */
export interface ConfigGroup {
  group: string;
  id: string | undefined;
  opts: Record<string, string>;
}

/** Reads QEMU's `-readconfig` file syntax: `[group "id"]` headers, `key = "value"` lines, `#` comments. */
export function parseConfigFile(text: string, file = 'config'): ConfigGroup[] {
  const groups: ConfigGroup[] = [];
  let cur: ConfigGroup | undefined;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const header = /^\[\s*([A-Za-z0-9_-]+)\s*(?:"([^"]*)")?\s*\]$/.exec(line);
    if (header) {
      cur = { group: header[1] ?? '', id: header[2], opts: Object.create(null) };
      groups.push(cur);
      return;
    }
    const kv = /^([A-Za-z0-9_.-]+)\s*=\s*"((?:[^"\\]|\\.)*)"$/.exec(line);
    if (!kv || !cur) throw new QmpUsageError(`${file}:${i + 1}: parse error`);
    cur.opts[kv[1] ?? ''] = kv[2] ?? '';
  });
  return groups;
}

/** Reads a `-readconfig` file. */
export function readConfigFile(path: string): ConfigGroup[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new QmpUsageError(
      `-readconfig ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : String(err)}`,
    );
  }
  return parseConfigFile(text, path);
}
