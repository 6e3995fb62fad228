// The replay server over an in-memory duplex: QEMU's greeting bytes, replies and events in the
// recorded order (pipelined too), mismatches told exactly, and each way of loosening the match.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QmpClient } from '../../src/client/index.js';
import { QmpCommandError } from '../../src/errors/index.js';
import {
  parseRecording,
  type QmpReplayMismatch,
  type QmpReplayOptions,
  type QmpReplaySessionSummary,
  replaySession,
} from '../../src/replay/index.js';
import { duplexPair, GREETING_7_2, RawClient, VERSION_7_2, withDeadline } from './helpers.js';

const GREETING = { QMP: { version: VERSION_7_2, capabilities: ['oob'] } };
const STOP = { timestamp: { seconds: 1795954017, microseconds: 901355 }, event: 'STOP' };
const RESUME = { timestamp: { seconds: 1795954017, microseconds: 901426 }, event: 'RESUME' };
const PAUSED = { status: 'paused', singlestep: false, running: false };

function transcript(...lines: Array<['in' | 'out', unknown]>): string {
  return lines.map(([direction, message]) => `${JSON.stringify({ time: 't', direction, message })}\n`).join('');
}

/** What a client pipelining stop, query-status and cont recorded from QEMU 7.2 (line 4 is `stop`). */
const PIPELINED = transcript(
  ['in', GREETING],
  ['out', { execute: 'qmp_capabilities', arguments: { enable: ['oob'] }, id: 1 }],
  ['in', { return: {}, id: 1 }],
  ['out', { execute: 'stop', id: 1 }],
  ['out', { execute: 'query-status', id: 2 }],
  ['out', { execute: 'cont', id: 3 }],
  ['in', STOP],
  ['in', { return: {}, id: 1 }],
  ['in', { return: PAUSED, id: 2 }],
  ['in', RESUME],
  ['in', { return: {}, id: 3 }],
);

/** A replay of `text` and a raw client connected to it, past negotiation. */
async function rawReplay(text: string, options: QmpReplayOptions = {}) {
  const mismatches: QmpReplayMismatch[] = [];
  const replay = await replaySession(parseRecording(text, 'rec.jsonl'), {
    ...options,
    onMismatch: (m) => mismatches.push(m),
  });
  const [a, b] = duplexPair();
  replay.serve(a, { label: 'c1' });
  const raw = new RawClient(b);
  const greeting = await raw.next();
  assert.equal(await raw.ask('{"execute": "qmp_capabilities"}'), '{"return": {}}');
  return { replay, raw, greeting, mismatches };
}

test('the recorded greeting goes out in QEMU bytes; a pipelined session replays in the recorded order', async () => {
  const { replay, raw, greeting } = await rawReplay(PIPELINED);
  try {
    assert.equal(greeting, GREETING_7_2);
    raw.send('{"execute": "stop", "id": 1}\n{"execute": "query-status", "id": 2}\n{"execute": "cont", "id": 3}\n');
    const lines = [];
    for (let i = 0; i < 5; i++) lines.push(await raw.nextJson());
    assert.deepEqual(lines, [STOP, { return: {}, id: 1 }, { return: PAUSED, id: 2 }, RESUME, { return: {}, id: 3 }]);
  } finally {
    await replay.close();
  }
});

test('an event recorded while the client was idle comes right after the reply before it', async () => {
  const powerdown = { timestamp: { seconds: 5, microseconds: 6 }, event: 'POWERDOWN' };
  const shutdown = {
    timestamp: { seconds: 5, microseconds: 7 },
    event: 'SHUTDOWN',
    data: { guest: true, reason: 'guest-shutdown' },
  };
  const { replay, raw } = await rawReplay(
    transcript(
      ['in', GREETING],
      ['out', { execute: 'qmp_capabilities', id: 1 }],
      ['in', { return: {}, id: 1 }],
      ['out', { execute: 'system_powerdown', id: 1 }],
      ['in', { return: {}, id: 1 }],
      ['in', powerdown],
      ['in', shutdown],
    ),
  );
  try {
    assert.deepEqual(JSON.parse(await raw.ask('{"execute": "system_powerdown", "id": 1}')), { return: {}, id: 1 });
    // Nothing more is sent: the events must come on their own, in order, with their recorded times.
    assert.deepEqual(await raw.nextJson(), powerdown);
    assert.deepEqual(await raw.nextJson(), shutdown);
  } finally {
    await replay.close();
  }
});

test('a changed request gets a GenericError naming request, line, member and values; the position stays', async () => {
  const { replay, raw, mismatches } = await rawReplay(PIPELINED);
  try {
    const reply = JSON.parse(await raw.ask('{"execute": "stop", "arguments": {"force": true}, "id": 1}'));
    const desc =
      'replay: request 1 differs from rec.jsonl line 4 at arguments.force: expected (absent), got true (expected {"execute":"stop","id":1})';
    assert.deepEqual(reply, { error: { class: 'GenericError', desc }, id: 1 });
    assert.equal(mismatches.length, 1);
    assert.deepEqual(
      { ...mismatches[0], got: undefined },
      {
        connection: 'c1',
        recording: 'rec.jsonl',
        step: 1,
        line: 4,
        expected: { execute: 'stop', id: 1 },
        got: undefined,
        difference: { path: 'arguments.force', expected: undefined, got: true },
        message: desc,
      },
    );
    assert.deepEqual(replay.mismatches, mismatches);
    // A different id is a mismatch too, unless ids are ignored.
    const byId = JSON.parse(await raw.ask('{"execute": "stop", "id": "a"}'));
    assert.match(byId.error.desc, /^replay: request 1 differs from rec\.jsonl line 4 at id: expected 1, got "a"/);
    // The recorded request still gets its recorded event and reply.
    assert.deepEqual(JSON.parse(await raw.ask('{"execute": "stop", "id": 1}')), STOP);
    assert.deepEqual(await raw.nextJson(), { return: {}, id: 1 });
  } finally {
    await replay.close();
  }
});

test('ignoreIds: any id matches and the reply carries it; freshTimestamps: events stamped by the clock', async () => {
  const { replay, raw, mismatches } = await rawReplay(PIPELINED, {
    ignoreIds: true,
    freshTimestamps: true,
    clock: () => 1_700_000_000_123_456,
  });
  try {
    assert.deepEqual(JSON.parse(await raw.ask('{"execute": "stop", "id": "first"}')), {
      ...STOP,
      timestamp: { seconds: 1_700_000_000, microseconds: 123_456 },
    });
    assert.deepEqual(await raw.nextJson(), { return: {}, id: 'first' });
    assert.deepEqual(JSON.parse(await raw.ask('{"execute": "query-status"}')), { return: PAUSED });
    assert.deepEqual(mismatches, []);
  } finally {
    await replay.close();
  }
});

test('ignorePaths leaves members out; repeatQueries answers extra queries from the recording', async () => {
  const text = transcript(
    ['in', GREETING],
    ['out', { execute: 'qmp_capabilities', id: 1 }],
    ['in', { return: {}, id: 1 }],
    ['out', { execute: 'query-status', id: 1 }],
    ['in', { return: { status: 'running', singlestep: false, running: true }, id: 1 }],
    [
      'out',
      { execute: 'blockdev-add', arguments: { driver: 'file', filename: '/tmp/a.img', 'node-name': 'n0' }, id: 1 },
    ],
    ['in', { return: {}, id: 1 }],
    ['out', { execute: 'stop', id: 1 }],
    ['in', { return: {}, id: 1 }],
    ['out', { execute: 'query-status', id: 1 }],
    ['in', { return: PAUSED, id: 1 }],
  );
  const strict = await rawReplay(text);
  try {
    await strict.raw.ask('{"execute": "query-status", "id": 1}');
    const extra = JSON.parse(await strict.raw.ask('{"execute": "query-status", "id": 1}'));
    assert.match(
      extra.error.desc,
      /request 2 differs from rec\.jsonl line 6 at execute: expected "blockdev-add", got "query-status"/,
    );
    const moved = JSON.parse(
      await strict.raw.ask(
        '{"execute": "blockdev-add", "arguments": {"driver": "file", "filename": "/run/b.img", "node-name": "n0"}, "id": 1}',
      ),
    );
    assert.match(moved.error.desc, /at arguments\.filename: expected "\/tmp\/a\.img", got "\/run\/b\.img"/);
  } finally {
    await strict.replay.close();
  }
  const loose = await rawReplay(text, { ignorePaths: ['arguments.filename'], repeatQueries: true });
  try {
    const running = { return: { status: 'running', singlestep: false, running: true }, id: 1 };
    assert.deepEqual(JSON.parse(await loose.raw.ask('{"execute": "query-status", "id": 1}')), running);
    assert.deepEqual(JSON.parse(await loose.raw.ask('{"execute": "query-status", "id": 1}')), running);
    assert.deepEqual(
      JSON.parse(
        await loose.raw.ask(
          '{"execute": "blockdev-add", "arguments": {"driver": "file", "filename": "/run/b.img", "node-name": "n0"}, "id": 1}',
        ),
      ),
      { return: {}, id: 1 },
    );
    // An extra query takes the nearest recorded answer before the position; then the recording goes on.
    assert.deepEqual(JSON.parse(await loose.raw.ask('{"execute": "query-status", "id": 1}')), running);
    assert.deepEqual(JSON.parse(await loose.raw.ask('{"execute": "stop", "id": 1}')), { return: {}, id: 1 });
    assert.deepEqual(JSON.parse(await loose.raw.ask('{"execute": "query-status", "id": 1}')), {
      return: PAUSED,
      id: 1,
    });
    // Only queries repeat, and only ones the recording has.
    const other = JSON.parse(await loose.raw.ask('{"execute": "query-name", "id": 1}'));
    assert.match(
      other.error.desc,
      /^replay: rec\.jsonl has no more requests \(all 4 were sent\); got \{"execute":"query-name"/,
    );
    assert.deepEqual(
      loose.mismatches.map((m) => [m.step, m.line, m.difference]),
      [[5, undefined, undefined]],
    );
  } finally {
    await loose.replay.close();
  }
});

test('every connection replays from the start; each is summarised when it closes', async () => {
  const ended: QmpReplaySessionSummary[] = [];
  // The recording pipelined (ids 1, 2, 3); this client waits for each reply (id 1 each time).
  const replay = await replaySession(parseRecording(PIPELINED, 'rec.jsonl'), {
    ignoreIds: true,
    onSessionEnd: (s) => ended.push(s),
  });
  try {
    const sessionEnded = (n: number): Promise<void> =>
      withDeadline(
        (async () => {
          while (ended.length < n) await new Promise((r) => setImmediate(r));
        })(),
        5000,
        `${n} session summaries`,
      );
    for (const [i, label] of ['first', 'second'].entries()) {
      const [a, b] = duplexPair();
      replay.serve(a, { label });
      const qmp = await QmpClient.connect(b, { timeoutMs: 5000 });
      await qmp.execute('stop');
      assert.deepEqual(await qmp.execute('query-status'), PAUSED);
      if (i === 1) await qmp.execute('cont');
      await qmp.close();
      await sessionEnded(i + 1);
    }
    assert.deepEqual(ended, [
      { connection: 'first', matched: 2, steps: 3, mismatches: 0 },
      { connection: 'second', matched: 3, steps: 3, mismatches: 0 },
    ]);
  } finally {
    await replay.close();
  }
});

test('the -l exchange log replays with QEMU 7.2 greeting and errors kept verbatim', async () => {
  const log = [
    '{"execute": "query-name", "arguments": {}, "return": {}}',
    '{"execute": "device_del", "arguments": {"id": "x"}, "error": {"class": "DeviceNotFound", "desc": "Device \'x\' not found"}}',
  ].join('\n');
  const replay = await replaySession(parseRecording(log, 'shell.log'));
  try {
    const [a, b] = duplexPair();
    replay.serve(a);
    const qmp = await QmpClient.connect(b, { timeoutMs: 5000 });
    assert.deepEqual(qmp.greeting.QMP.version, { qemu: { major: 7, minor: 2, micro: 22 }, package: '' });
    assert.deepEqual(await qmp.execute('query-name'), {});
    await assert.rejects(qmp.execute('device_del', { id: 'x' }), (e: unknown) => {
      assert.ok(e instanceof QmpCommandError);
      assert.equal(e.errorClass, 'DeviceNotFound');
      assert.equal(e.desc, "Device 'x' not found");
      return true;
    });
    await qmp.close();
    assert.deepEqual(replay.mismatches, []);
  } finally {
    await replay.close();
  }
});

test('quit: reply, the recorded SHUTDOWN, then the connection ends; a missing reply is said', async () => {
  const shutdown = {
    timestamp: { seconds: 9, microseconds: 1 },
    event: 'SHUTDOWN',
    data: { guest: false, reason: 'host-qmp-quit' },
  };
  const quitting = await rawReplay(
    transcript(
      ['in', GREETING],
      ['out', { execute: 'qmp_capabilities', id: 1 }],
      ['in', { return: {}, id: 1 }],
      ['out', { execute: 'quit', id: 1 }],
      ['in', { return: {}, id: 1 }],
      ['in', shutdown],
    ),
  );
  try {
    assert.deepEqual(JSON.parse(await quitting.raw.ask('{"execute": "quit", "id": 1}')), { return: {}, id: 1 });
    assert.deepEqual(await quitting.raw.nextJson(), shutdown);
    await quitting.raw.waitEnd();
  } finally {
    await quitting.replay.close();
  }
  const cut = await rawReplay(
    transcript(
      ['in', GREETING],
      ['out', { execute: 'qmp_capabilities', id: 1 }],
      ['in', { return: {}, id: 1 }],
      ['out', { execute: 'stop', id: 1 }],
    ),
  );
  try {
    assert.deepEqual(JSON.parse(await cut.raw.ask('{"execute": "stop", "id": 1}')), {
      error: { class: 'GenericError', desc: 'replay: rec.jsonl ends before the reply to request 1 (line 4)' },
      id: 1,
    });
  } finally {
    await cut.replay.close();
  }
});

test("pretty=on: replies and events in QEMU's pretty layout, members in the recorded order", async () => {
  const replay = await replaySession(
    parseRecording(
      transcript(
        ['in', GREETING],
        ['out', { execute: 'qmp_capabilities', id: 1 }],
        ['in', { return: {}, id: 1 }],
        ['out', { execute: 'query-status', id: 1 }],
        ['in', { return: { status: 'running', singlestep: false, running: true }, id: 1 }],
        ['out', { execute: 'stop', id: 1 }],
        ['in', STOP],
        ['in', { return: {}, id: 1 }],
      ),
    ),
  );
  try {
    const [a, b] = duplexPair();
    replay.serve(a, { pretty: true });
    const raw = new RawClient(b);
    raw.send('{"execute": "qmp_capabilities"}\n{"execute": "query-status", "id": 1}\n{"execute": "stop", "id": 1}\n');
    // QEMU 7.2's bytes for the same exchange on a pretty=on monitor (the greeting is 15 lines).
    const expected = [
      '{',
      '    "return": {',
      '    }',
      '}',
      '{',
      '    "return": {',
      '        "status": "running",',
      '        "singlestep": false,',
      '        "running": true',
      '    },',
      '    "id": 1',
      '}',
      '{',
      '    "timestamp": {',
      '        "seconds": 1795954017,',
      '        "microseconds": 901355',
      '    },',
      '    "event": "STOP"',
      '}',
      '{',
      '    "return": {',
      '    },',
      '    "id": 1',
      '}',
    ];
    const lines = await raw.waitLines(15 + expected.length);
    assert.deepEqual(lines.slice(15), expected);
  } finally {
    await replay.close();
  }
});
