// Reading recordings: both formats, what becomes a step and where events stand, a typed error naming
// the line for anything else; the file size limit; where two requests first differ.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { QmpRecordingError } from '../../src/errors/index.js';
import { MAX_RECORDING_BYTES } from '../../src/limits.js';
import { firstDifference, parseRecording, readRecording, replaySession } from '../../src/replay/index.js';
import { prng } from '../helpers/prng.js';

const GREETING = { QMP: { version: { qemu: { micro: 22, minor: 2, major: 7 }, package: '' }, capabilities: ['oob'] } };

/** A transcript as `TranscriptLog` writes it. */
function transcript(...lines: Array<['in' | 'out', unknown]>): string {
  return lines
    .map(([direction, message]) => `${JSON.stringify({ time: '2026-01-01T00:00:00.000Z', direction, message })}\n`)
    .join('');
}

const NEGOTIATION: Array<['in' | 'out', unknown]> = [
  ['in', GREETING],
  ['out', { execute: 'qmp_capabilities', arguments: { enable: ['oob'] }, id: 1 }],
  ['in', { return: {}, id: 1 }],
];

test('a transcript: greeting, negotiation left to the server, steps with their replies, events placed', () => {
  const rec = parseRecording(
    transcript(
      ...NEGOTIATION,
      ['out', { execute: 'stop', id: 1 }],
      ['out', { execute: 'query-status', id: 2 }],
      ['in', { timestamp: { seconds: 1, microseconds: 2 }, event: 'STOP' }],
      ['in', { return: {}, id: 1 }],
      ['in', { return: { status: 'paused', singlestep: false, running: false }, id: 2 }],
      ['in', { timestamp: { seconds: 3, microseconds: 4 }, event: 'POWERDOWN' }],
    ),
    'r.jsonl',
  );
  assert.equal(rec.format, 'transcript');
  assert.deepEqual(rec.greeting, GREETING);
  assert.deepEqual(
    rec.steps.map((s) => [s.index, s.line, s.request['execute'], s.replyLine]),
    [
      [1, 4, 'stop', 7],
      [2, 5, 'query-status', 8],
    ],
  );
  // STOP came after both requests were sent and before any reply: it goes before stop's reply.
  // POWERDOWN came after the last reply with no request outstanding: it goes right after that reply.
  assert.deepEqual(
    rec.events.map((e) => [e.line, e.afterReplyOf, e.afterRequests]),
    [
      [6, -1, 1],
      [9, 1, 2],
    ],
  );
});

test('the -l exchange log: one step per line, no greeting, qmp_capabilities left out', () => {
  const rec = parseRecording(
    [
      '{"execute": "qmp_capabilities", "arguments": {}, "return": {}}',
      '',
      '{"execute": "query-name", "arguments": {}, "return": {}}',
      '{"execute": "device_del", "arguments": {"id": "x"}, "error": {"class": "DeviceNotFound", "desc": "Device \'x\' not found"}}',
    ].join('\n'),
  );
  assert.equal(rec.format, 'exchange-log');
  assert.equal(rec.greeting, undefined);
  assert.deepEqual(
    rec.steps.map((s) => [s.line, s.request, s.reply]),
    [
      [3, { execute: 'query-name', arguments: {} }, { return: {} }],
      [
        4,
        { execute: 'device_del', arguments: { id: 'x' } },
        { error: { class: 'DeviceNotFound', desc: "Device 'x' not found" } },
      ],
    ],
  );
});

test('a request whose reply never came is a step without a reply; integers beyond 2^53 stay exact', () => {
  const rec = parseRecording(
    transcript(...NEGOTIATION, ['out', { execute: 'x-big', arguments: { n: 1 }, id: 1 }]).replace(
      '"n":1',
      '"n":18446744073709551615',
    ),
  );
  assert.equal(rec.steps[0]?.reply, undefined);
  assert.deepEqual(rec.steps[0]?.request['arguments'], { n: 18446744073709551615n });
});

test('anything else is a QmpRecordingError naming the file and line', () => {
  const cases: Array<[string, number | undefined, RegExp]> = [
    ['', undefined, /the recording is empty/],
    [`${transcript(...NEGOTIATION)}{"direction": "in", "message": {"return": {}, "id": 1}`, 4, /not JSON/],
    ['[1, 2]', 1, /not a JSON object/],
    ['{"time": "x"}', 1, /neither a transcript line/],
    ['{"direction": "sideways", "message": {}}', 1, /"direction" must be "in" or "out"/],
    ['{"direction": "in", "message": 3}', 1, /"message" must be a JSON object/],
    [transcript(['in', GREETING], ['out', { arguments: {} }]), 2, /needs a string "execute" or "exec-oob"/],
    [transcript(['in', GREETING], ['out', { execute: 'x', arguments: [1] }]), 2, /"arguments" must be a JSON object/],
    [transcript(['in', GREETING], ['in', { hello: 1 }]), 2, /must be a greeting, a reply .* or an event/],
    [transcript(['in', GREETING], ['in', { return: {}, id: 7 }]), 2, /a reply with id 7 that answers no request/],
    [transcript(['in', GREETING], ['in', GREETING]), 2, /a greeting after the session started/],
    [`${transcript(['in', GREETING])}{"execute": "stop", "return": {}}\n`, 2, /an exchange-log line in a transcript/],
    ['{"execute": "stop"}', 1, /needs "return" or an "error" object/],
  ];
  for (const [text, line, why] of cases) {
    assert.throws(
      () => parseRecording(text, 'bad.jsonl'),
      (e: unknown) => {
        assert.ok(e instanceof QmpRecordingError, `${text}: ${String(e)}`);
        assert.equal(e.code, 'QMP_ERR_RECORDING');
        assert.equal(e.recording, 'bad.jsonl');
        assert.equal(e.line, line, text);
        assert.match(e.message, why);
        assert.ok(e.message.startsWith(line === undefined ? 'bad.jsonl: ' : `bad.jsonl:${line}: `), e.message);
        return true;
      },
    );
  }
});

test('readRecording: maxRecordingBytes at the limit reads, one past is refused; a missing file is a typed error', async () => {
  assert.equal(MAX_RECORDING_BYTES, 64 * 1024 * 1024);
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-rec-'));
  try {
    const path = join(dir, 'r.jsonl');
    const text = transcript(...NEGOTIATION);
    writeFileSync(path, text);
    const size = Buffer.byteLength(text);
    const rec = await readRecording(path, { maxRecordingBytes: size });
    assert.deepEqual(rec.greeting, GREETING);
    await assert.rejects(readRecording(path, { maxRecordingBytes: size - 1 }), (e: unknown) => {
      assert.ok(e instanceof QmpRecordingError);
      assert.equal(e.message, `${path}: ${size} bytes, more than maxRecordingBytes (${size - 1})`);
      return true;
    });
    await assert.rejects(
      replaySession(path, { maxRecordingBytes: size - 1 }),
      (e: unknown) => e instanceof QmpRecordingError,
    );
    await assert.rejects(readRecording(join(dir, 'missing.jsonl')), (e: unknown) => {
      assert.ok(e instanceof QmpRecordingError);
      assert.match(e.message, /missing\.jsonl: cannot read the recording: ENOENT/);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a greeting that is not QEMU-shaped is refused when served', async () => {
  const rec = parseRecording(transcript(['in', { QMP: { version: 'seven' } }]), 'g.jsonl');
  await assert.rejects(replaySession(rec), (e: unknown) => {
    assert.ok(e instanceof QmpRecordingError);
    assert.match(e.message, /^g\.jsonl: the greeting is not/);
    return true;
  });
});

test('firstDifference: the first differing member path, numbers by value, ignored paths cover what is below', () => {
  const recorded = {
    execute: 'blockdev-add',
    arguments: { driver: 'file', options: { list: [1, 2, 3] }, 'node-name': 'a' },
  };
  assert.equal(firstDifference(recorded, structuredClone(recorded)), undefined);
  assert.deepEqual(
    firstDifference(recorded, { execute: 'blockdev-add', arguments: { driver: 'file', options: { list: [1, 5, 3] } } }),
    { path: 'arguments.options.list[1]', expected: 2, got: 5 },
  );
  assert.deepEqual(firstDifference(recorded, { ...recorded, arguments: { ...recorded.arguments, extra: true } }), {
    path: 'arguments.extra',
    expected: undefined,
    got: true,
  });
  assert.deepEqual(firstDifference({ execute: 'stop' }, { execute: 'cont' }), {
    path: 'execute',
    expected: 'stop',
    got: 'cont',
  });
  assert.equal(firstDifference({ n: 9007199254740993n, m: 2 }, { n: 9007199254740993n, m: 2n }), undefined);
  assert.deepEqual(firstDifference({ n: 1 }, { n: '1' }), { path: 'n', expected: 1, got: '1' });
  const changed = { execute: 'blockdev-add', arguments: { driver: 'file', options: { list: [] }, 'node-name': 'b' } };
  assert.deepEqual(firstDifference(recorded, changed, ['arguments.options'])?.path, 'arguments.node-name');
  assert.equal(firstDifference(recorded, changed, ['arguments.options', 'arguments.node-name']), undefined);
  // A path only covers itself and what is below it, not a member that shares its prefix.
  assert.deepEqual(firstDifference({ ab: 1, a: 1 }, { ab: 2, a: 2 }, ['a'])?.path, 'ab');
});

test('damaged recordings (seeded): a recording or a QmpRecordingError, never anything else', () => {
  const good = transcript(
    ...NEGOTIATION,
    ['out', { execute: 'stop', id: 1 }],
    ['in', { timestamp: { seconds: 1, microseconds: 2 }, event: 'STOP' }],
    ['in', { return: {}, id: 1 }],
    ['out', { execute: 'human-monitor-command', arguments: { 'command-line': 'info version' }, id: [1, { a: null }] }],
    ['in', { return: '7.2.22\r\n', id: [1, { a: null }] }],
  );
  const pieces = [
    '{',
    '}',
    '[',
    ']',
    '"',
    ',',
    ':',
    '\n',
    'null',
    '"direction"',
    '"in"',
    '"out"',
    '"message"',
    '"id"',
    '1e999',
  ];
  const seed = 0x5eed;
  const rand = prng(seed);
  let refused = 0;
  for (let i = 0; i < 2000; i++) {
    let text = good;
    for (let m = 0; m < 1 + Math.floor(rand() * 3); m++) {
      const at = Math.floor(rand() * text.length);
      const cut = Math.floor(rand() * 8);
      const piece = rand() < 0.5 ? (pieces[Math.floor(rand() * pieces.length)] ?? '') : '';
      text = text.slice(0, at) + piece + text.slice(at + cut);
    }
    try {
      parseRecording(text, 'fuzz.jsonl');
    } catch (err) {
      assert.ok(err instanceof QmpRecordingError, `seed ${seed}, case ${i}: ${String(err)}\n${text}`);
      refused++;
    }
  }
  // Most damage is caught; some leaves a valid recording (a changed string, say).
  assert.ok(refused > 1000, `only ${refused} refused`);
  // A reply whose id no request has, even one beyond 2^53, is named exactly.
  assert.throws(
    () =>
      parseRecording(
        `${transcript(['in', GREETING])}{"direction":"in","message":{"return":{},"id":18446744073709551615}}\n`,
      ),
    /:2: a reply with id 18446744073709551615 that answers no request/,
  );
});
