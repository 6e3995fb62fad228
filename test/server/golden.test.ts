// Replays every golden transcript of real QEMU 7.2.22 (test/fixtures/golden/golden.json) against a
// QmpServer configured like that QEMU with stub handlers, and compares the server's bytes line by
// line after normalizing event timestamps.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadQemu72Schema } from '../../src/schema/index.js';
import type { QmpServer, QmpServerSchema } from '../../src/server/index.js';
import { duplexPair, RawClient } from './helpers.js';
import { type Recorded, stubQemu, stubSchema } from './stub-qemu.js';

interface WireEntry {
  dir: 'S' | 'C' | 'S2' | 'C2' | '#' | 'RST' | 'EOF';
  data?: string;
  data_b64?: string;
}
interface Scenario {
  desc: string;
  machine: 'none' | 'q35';
  wire: WireEntry[];
}

const GOLDEN = resolve(import.meta.dirname, '../../../test/fixtures/golden/golden.json');
const golden = JSON.parse(readFileSync(GOLDEN, 'utf8')) as { scenarios: Record<string, Scenario> };

function bytesOf(w: WireEntry): Buffer {
  return w.data_b64 !== undefined ? Buffer.from(w.data_b64, 'base64') : Buffer.from(w.data ?? '', 'utf8');
}

/** Timestamps are wall-clock: replace their digits on both sides (compact and pretty layouts). */
function normalize(line: string): string {
  return line.replace(/("seconds": )\d+/g, '$1S').replace(/("microseconds": )\d+/g, '$1U');
}

/** The `return` value text of the reply that follows the request `execute` in scenario `name`. */
function recordedReturn(name: string, execute: string): string {
  const wire = golden.scenarios[name]?.wire ?? [];
  const i = wire.findIndex((w) => w.dir === 'C' && (w.data ?? '').includes(`"execute": "${execute}"`));
  const reply = wire.slice(i + 1).find((w) => w.dir === 'S' && (w.data ?? '').startsWith('{"return": '));
  assert.ok(i !== -1 && reply?.data !== undefined, `recorded ${execute} reply in ${name}`);
  const text = reply.data.slice('{"return": '.length, -'}\r\n'.length);
  return text;
}

const recorded: Recorded = {
  queryCommands: recordedReturn('query-commands', 'query-commands'),
  queryBlockWithMedia: recordedReturn('query-block', 'query-block'),
  queryQmpSchema: recordedReturn('query-qmp-schema', 'query-qmp-schema'),
};

const tmp = mkdtempSync(join(tmpdir(), 'qmpkit-golden-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

async function openClient(server: QmpServer, name: string, socketPath: string | undefined): Promise<RawClient> {
  if (socketPath !== undefined) {
    const sock = connect({ path: socketPath, allowHalfOpen: true });
    await new Promise<void>((res, rej) => {
      sock.once('connect', res);
      sock.once('error', rej);
    });
    return new RawClient(sock);
  }
  const [a, b] = duplexPair();
  server.serve(b, { pretty: name === 'pretty', label: name });
  return new RawClient(a);
}

async function replay(name: string, scenario: Scenario, schema: QmpServerSchema): Promise<void> {
  const server = stubQemu(scenario.machine, recorded, { schema });
  // The second-client scenario needs a real monitor: one client at a time on a socket.
  const socketPath = name === 'second-client' ? join(tmp, `${name}.sock`) : undefined;
  if (socketPath !== undefined) await server.listen(`unix:${socketPath},server=on,wait=off`);
  try {
    const expected: [string[], string[]] = [[], []];
    const clients: [RawClient | undefined, RawClient | undefined] = [
      await openClient(server, name, socketPath),
      undefined,
    ];
    let sawReset = false;
    for (const w of scenario.wire) {
      if (w.dir === 'S' || w.dir === 'S2') {
        expected[w.dir === 'S' ? 0 : 1].push(normalize((w.data ?? '').replace(/\r\n$/, '')));
      } else if (w.dir === 'C' || w.dir === 'C2') {
        const k = w.dir === 'C' ? 0 : 1;
        const c = clients[k];
        assert.ok(c, `client ${k + 1} is connected`);
        await c.waitLines(expected[k].length);
        c.send(bytesOf(w));
      } else if (w.dir === '#' && (w.data ?? '').startsWith('client 2 connected')) {
        clients[1] = await openClient(server, name, socketPath);
      } else if (w.dir === '#' && (w.data ?? '').startsWith('client 1 closed')) {
        const c1 = clients[0];
        assert.ok(c1);
        await c1.waitLines(expected[0].length);
        // Until now client 2 must not have been greeted: QEMU serves one client per monitor.
        assert.deepEqual(clients[1]?.lines ?? [], [], 'the waiting client got nothing while the first was connected');
        c1.stream.destroy();
      } else if (w.dir === 'RST' || w.dir === 'EOF') {
        sawReset = true;
      }
    }
    for (const k of [0, 1] as const) {
      const c = clients[k];
      if (c === undefined) continue;
      await c.waitLines(expected[k].length, 10_000);
      assert.deepEqual(c.lines.map(normalize), expected[k], `server lines of client ${k + 1}`);
      assert.equal(c.partial, '', 'no bytes after the last CRLF');
    }
    if (sawReset) await clients[0]?.waitEnd();
    for (const c of clients) c?.stream.destroy();
  } finally {
    await server.close();
  }
}

const SCHEMAS: ReadonlyArray<[string, () => QmpServerSchema]> = [
  ['a test stand-in schema', () => stubSchema],
  ["QEMU 7.2's own schema (QapiSchema)", loadQemu72Schema],
];

for (const [schemaName, loadSchema] of SCHEMAS) {
  describe(`golden transcripts of QEMU 7.2.22, arguments checked by ${schemaName}`, () => {
    const names = Object.keys(golden.scenarios);
    const schema = loadSchema();
    test('the fixture has every recorded scenario', () => {
      assert.ok(names.length >= 37, `found ${names.length} scenarios`);
    });
    for (const name of names) {
      const scenario = golden.scenarios[name];
      if (scenario === undefined) continue;
      test(`${name}: ${scenario.desc}`, () => replay(name, scenario, schema));
    }
  });
}
