// The golden transcripts of real QEMU 7.2: test/fixtures/golden/golden.json holds, per scenario, the
// QEMU command line and every chunk on the wire (`dir` "C" for what the client sent, "S" for what
// QEMU sent, `t_ms` since connecting, the bytes as `data` or, when not UTF-8, `data_b64`). The
// *.txt files beside it show the same sessions for reading, one line per message.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const PROJECT_ROOT = resolve(import.meta.dirname, '../../..');

export interface GoldenLine {
  dir: string;
  t_ms: number;
  data?: string;
  data_b64?: string;
}
export interface GoldenScenario {
  desc: string;
  machine: string;
  argv: string[];
  wire: GoldenLine[];
}

let cache: Record<string, GoldenScenario> | undefined;
export function goldenScenarios(): Record<string, GoldenScenario> {
  cache ??= (
    JSON.parse(readFileSync(resolve(PROJECT_ROOT, 'test/fixtures/golden/golden.json'), 'utf8')) as {
      scenarios: Record<string, GoldenScenario>;
    }
  ).scenarios;
  return cache;
}

/** The exact bytes of one golden line. */
export function lineBytes(l: GoldenLine): Buffer {
  return l.data_b64 !== undefined ? Buffer.from(l.data_b64, 'base64') : Buffer.from(l.data ?? '', 'utf8');
}
