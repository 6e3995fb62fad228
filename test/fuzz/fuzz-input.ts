// Seeded input generators shared by the fuzz targets: realistic QMP (the golden transcripts' client
// lines and QEMU's replies), mutations of it, random JSON-ish bytes, inputs at the limits, and the
// tricks a hostile client tries on a policy (case, escapes, duplicate keys, single quotes, exec-oob).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export type Rand = () => number;

/** The project's seeded PRNG (mulberry32): a failure reproduces from its seed. */
export { prng } from '../helpers/prng.js';

export function pick<T>(rnd: Rand, a: readonly T[]): T {
  return a[Math.floor(rnd() * a.length)] as T;
}

/** Cuts `buf` at random points, pieces of 1 to `maxPiece` bytes. */
export function split(buf: Buffer, rnd: Rand, maxPiece = 1 + Math.floor(rnd() * 64)): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; ) {
    const n = 1 + Math.floor(rnd() * maxPiece);
    out.push(buf.subarray(i, i + n));
    i += n;
  }
  return out;
}

export interface Corpus {
  /** Client lines (requests), newline-terminated. */
  requests: string[];
  /** Server lines (greeting, replies, events), CRLF-terminated. */
  replies: string[];
}

/** The golden transcripts' lines, both directions. */
export function loadCorpus(): Corpus {
  const file = resolve(import.meta.dirname, '../../../test/fixtures/golden/golden.json');
  const g = JSON.parse(readFileSync(file, 'utf8')) as {
    scenarios: Record<string, { wire: Array<{ dir: string; data?: string }> }>;
  };
  const requests = new Set<string>();
  const replies = new Set<string>();
  for (const s of Object.values(g.scenarios))
    for (const w of s.wire) {
      if (w.data === undefined || w.data.length > 8000) continue;
      (w.dir.startsWith('C') ? requests : replies).add(w.data);
    }
  requests.add('{"exec-oob": "migrate-pause", "id": 1}\n');
  const oneLine = (l: string): boolean => {
    if (!l.endsWith('\r\n') || l.slice(0, -2).includes('\n')) return false;
    try {
      JSON.parse(l);
      return true;
    } catch {
      return false;
    }
  };
  return { requests: [...requests].filter((l) => !l.includes('"quit"')), replies: [...replies].filter(oneLine) };
}

const JSONISH = Buffer.from('{}[]:,"\'\\ \n\r\t0123456789.-+eEtrufalsn xyz\u00e9\x7f');

/** Random bytes, mostly JSON punctuation and letters. */
export function randomBytes(rnd: Rand, max = 200): Buffer {
  const n = Math.floor(rnd() * max);
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++)
    out[i] = rnd() < 0.75 ? (JSONISH[Math.floor(rnd() * JSONISH.length)] as number) : Math.floor(rnd() * 256);
  return out;
}

/** A few random edits: flipped, inserted, deleted, duplicated bytes, or a cut. */
export function mutate(rnd: Rand, input: Buffer, maxEdits = 6): Buffer {
  let bytes = [...input];
  const edits = Math.floor(rnd() * (maxEdits + 1));
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(rnd() * (bytes.length + 1));
    const m = rnd();
    if (m < 0.3) bytes[at] = Math.floor(rnd() * 256);
    else if (m < 0.55) bytes.splice(at, 0, JSONISH[Math.floor(rnd() * JSONISH.length)] as number);
    else if (m < 0.75) bytes.splice(at, 1 + Math.floor(rnd() * 8));
    else if (m < 0.9) bytes = bytes.slice(0, at);
    else bytes.splice(at, 0, ...bytes.slice(at, at + Math.floor(rnd() * 30)));
  }
  return Buffer.from(bytes);
}

/** A random JSON value, with big integers, escapes and non-ASCII text. */
export function randomValue(rnd: Rand, depth = 0): unknown {
  const r = rnd();
  if (depth > 4 || r < 0.35) {
    const s = rnd();
    if (s < 0.2) return Math.floor(rnd() * 2 ** 31) - 2 ** 30;
    if (s < 0.3) return rnd() * 1e6;
    if (s < 0.4) return pick(rnd, [true, false, null]);
    return pick(rnd, ['', 'running', 'a"b\\c', 'line\nbreak', 'é😀', '\u0000\u001f', 'x'.repeat(300)]);
  }
  if (r < 0.65) return Array.from({ length: Math.floor(rnd() * 5) }, () => randomValue(rnd, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = Math.floor(rnd() * 5); i > 0; i--)
    o[pick(rnd, ['return', 'id', 'data', 'a', 'b-c', 'é'])] = randomValue(rnd, depth + 1);
  return o;
}

/** Policy tricks: ways to name a command the read-only profile must refuse. */
export function policyTrick(rnd: Rand): Buffer {
  const cmd = pick(rnd, [
    'stop',
    'system_reset',
    'cont',
    'device_del',
    'human-monitor-command',
    'qom-set',
    'migrate-pause',
  ]);
  const esc = [...cmd].map((ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
  const id = pick(rnd, ['1', '"x"', '{"a": 1}', '[1, 2]', 'null', '-0', '1e400', '"probe-1"', '18446744073709551616']);
  const tricks = [
    `{"execute": "${cmd}", "id": ${id}}`,
    `{"execute": "${cmd.toUpperCase()}", "id": ${id}}`,
    `{"execute": "${esc}", "id": ${id}}`,
    `{"execute": "query-status", "execute": "${cmd}", "id": ${id}}`,
    `{"execute": "${cmd}", "execute": "query-status", "id": ${id}}`,
    `{'execute': '${cmd}', 'id': ${id}}`,
    `{"exec-oob": "${cmd}", "id": ${id}}`,
    `{"execute": "query-status", "exec-oob": "${cmd}", "id": ${id}}`,
    `{"execute": "${cmd} ", "id": ${id}}`,
    `{"execute": "query-${cmd}", "id": ${id}}`,
    `{"execute": "query-status", "id": ${id}, "arguments": {"x": "\\n{\\"execute\\": \\"${cmd}\\"}"}}`,
    `{"execute": "query-status", "id": ${id}, "arguments": {"x": "${'\x7f'.repeat(Math.floor(rnd() * 4096))}{'execute':'${cmd}'}"}}`,
    `{"execute": "qom-get", "arguments": {"path": "/machine", "property": "type"}, "id": ${id}, "control": {"run-oob": true}}`,
    `{"execute": "query-status", "id": ${id}}{"execute": "${cmd}"}`,
    `{"execute": ["${cmd}"], "id": ${id}}`,
    `{"execute": "transaction", "arguments": {"actions": [{"type": "${cmd}", "data": {}}]}, "id": ${id}}`,
  ];
  return Buffer.from(`${pick(rnd, tricks)}\n`);
}

/** Inputs at QEMU's limits (1024 levels, long strings): at the edge and one past. */
export function atLimits(rnd: Rand): Buffer {
  const depth = 1023 + Math.floor(rnd() * 3);
  const r = rnd();
  if (r < 0.4) return Buffer.from(`{"execute": "query-status", "id": ${'['.repeat(depth)}${']'.repeat(depth)}}\n`);
  if (r < 0.6) return Buffer.from(`${'['.repeat(depth + 1)}\n`);
  return Buffer.from(`{"execute": "query-status", "id": "${'x'.repeat(Math.floor(rnd() * 300_000))}"}\n`);
}
