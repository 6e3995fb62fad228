// The server framework's request handling over in-memory duplexes: negotiation, dispatch checks,
// input framing, handler results and errors, queue/OOB flow control, EOF and disconnects.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { QmpCommandError } from '../../src/errors/index.js';
import {
  pipelinedDispatch,
  QmpServer,
  type QmpServerOptions,
  type QmpServerSchema,
  type QmpServerSession,
  qemuDispatch,
} from '../../src/server/index.js';
import { QNum, RawJson } from '../../src/wire/index.js';
import { duplexPair, GREETING_7_2, RawClient, VERSION_7_2, withDeadline } from './helpers.js';

function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function qemuLike(options: QmpServerOptions = {}): QmpServer {
  const server = new QmpServer({ version: VERSION_7_2, ...options });
  // Schema order (running, singlestep, status): QEMU's hash order then prints status first.
  server.register('query-status', () => ({ running: true, singlestep: false, status: 'running' }));
  server.register('query-name', () => ({}));
  return server;
}

async function open(
  server: QmpServer,
  opts: Parameters<QmpServer['serve']>[1] = {},
): Promise<{ c: RawClient; session: QmpServerSession }> {
  const [a, b] = duplexPair();
  const session = server.serve(b, opts);
  const c = new RawClient(a);
  await c.next();
  return { c, session };
}

async function negotiate(c: RawClient, oob = false): Promise<void> {
  const req = oob ? '{"execute":"qmp_capabilities","arguments":{"enable":["oob"]}}' : '{"execute":"qmp_capabilities"}';
  assert.equal(await c.ask(req), '{"return": {}}');
}

describe('greeting and negotiation', () => {
  test('the default greeting is QEMU 7.2.22 upstream with oob', async () => {
    const server = new QmpServer();
    const { c } = await open(server);
    assert.equal(
      c.lines[0],
      '{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": ""}, "capabilities": ["oob"]}}',
    );
    await server.close();
  });

  test('version and capabilities are configurable, per server and per connection', async () => {
    const server = new QmpServer({ version: VERSION_7_2, capabilities: ['oob'] });
    const { c } = await open(server);
    assert.equal(c.lines[0], GREETING_7_2);
    const { c: c2 } = await open(server, { capabilities: [] });
    assert.equal(c2.lines[0], GREETING_7_2.replace('["oob"]', '[]'));
    // A capability that was not offered cannot be enabled (QEMU's text).
    assert.equal(
      await c2.ask('{"execute":"qmp_capabilities","arguments":{"enable":["oob"]},"id":1}'),
      '{"id": 1, "error": {"class": "GenericError", "desc": "Capability oob not available"}}',
    );
    await negotiate(c2);
    await server.close();
  });

  test('negotiation mode refuses everything but qmp_capabilities, with QEMU rewrites', async () => {
    const server = qemuLike();
    server.setFallback(() => ({}));
    const { c } = await open(server);
    const neg = "Expecting capabilities negotiation with 'qmp_capabilities'";
    assert.equal(
      await c.ask('{"execute":"query-status","id":1}'),
      `{"id": 1, "error": {"class": "CommandNotFound", "desc": "${neg}"}}`,
    );
    // The fallback does not apply before negotiation either.
    assert.equal(await c.ask('{"execute":"whatever"}'), `{"error": {"class": "CommandNotFound", "desc": "${neg}"}}`);
    // Member checks come first and are not rewritten; exec-oob is not a member yet.
    assert.equal(
      await c.ask('{"exec-oob":"query-status","id":2}'),
      `{"id": 2, "error": {"class": "GenericError", "desc": "QMP input member 'exec-oob' is unexpected"}}`,
    );
    assert.equal(
      await c.ask('{"execute":"qmp_capabilities","arguments":{"enable":[1]}}'),
      `{"error": {"class": "GenericError", "desc": "Invalid parameter type for 'enable[0]', expected: string"}}`,
    );
    assert.equal(
      await c.ask('{"execute":"qmp_capabilities","arguments":{"enable":null}}'),
      `{"error": {"class": "GenericError", "desc": "Invalid parameter type for 'enable', expected: array"}}`,
    );
    assert.equal(
      await c.ask('{"execute":"qmp_capabilities","arguments":{"enable":[]},"id":3}'),
      '{"return": {}, "id": 3}',
    );
    assert.equal(
      await c.ask('{"execute":"query-status"}'),
      '{"return": {"status": "running", "singlestep": false, "running": true}}',
    );
    assert.equal(
      await c.ask('{"execute":"qmp_capabilities","arguments":{"bogus":1}}'),
      `{"error": {"class": "GenericError", "desc": "Parameter 'bogus' is unexpected"}}`,
    );
    assert.equal(
      await c.ask('{"execute":"qmp_capabilities"}'),
      '{"error": {"class": "CommandNotFound", "desc": "Capabilities negotiation is already complete, command ignored"}}',
    );
    await server.close();
  });

  test('with OOB on: exec-oob of qmp_capabilities is refused like QEMU, unknown commands are not found', async () => {
    const server = qemuLike();
    const { c } = await open(server);
    await negotiate(c, true);
    const noOob = `{"id": 1, "error": {"class": "GenericError", "desc": "The command qmp_capabilities does not support OOB"}}`;
    assert.equal(await c.ask('{"exec-oob":"qmp_capabilities","id":1}'), noOob);
    assert.equal(await c.ask('{"exec-oob":"qmp_capabilities","arguments":{"x":1},"id":1}'), noOob);
    assert.equal(
      await c.ask('{"exec-oob":"nope","id":4}'),
      '{"id": 4, "error": {"class": "CommandNotFound", "desc": "The command nope has not been found"}}',
    );
    assert.equal(
      await c.ask('{"execute":"query-name","arguments":{},"id":3,"exec-oob":"x"}'),
      `{"id": 3, "error": {"class": "GenericError", "desc": "QMP input member 'execute' clashes with 'exec-oob'"}}`,
    );
    assert.equal(
      await c.ask('{"exec-oob":"query-name","id":5}'),
      `{"id": 5, "error": {"class": "GenericError", "desc": "The command query-name does not support OOB"}}`,
    );
    await server.close();
  });

  test('qmp_capabilities is built in and cannot be registered', () => {
    const server = new QmpServer();
    assert.throws(() => server.register('qmp_capabilities', () => ({})), { code: 'QMP_ERR_USAGE' });
    assert.deepEqual(server.commandNames(), ['qmp_capabilities']);
  });
});

describe('input framing', () => {
  test('several requests per write, and one request split into single bytes', async () => {
    const server = qemuLike();
    const { c } = await open(server);
    await negotiate(c);
    c.send('{"execute":"query-name","id":1}{"execute":"query-name","id":2} {"execute":"query-name","id":3}\n');
    assert.deepEqual(
      [await c.next(), await c.next(), await c.next()],
      ['{"return": {}, "id": 1}', '{"return": {}, "id": 2}', '{"return": {}, "id": 3}'],
    );
    for (const byte of Buffer.from('{ "execute" :\n"query-name",\r\n"id" : "split" }')) c.send(Buffer.from([byte]));
    assert.equal(await c.next(), '{"return": {}, "id": "split"}');
    await server.close();
  });

  test('recovers after lexical errors (QEMU conformance cases 13 and 14)', async () => {
    const server = qemuLike();
    const { c } = await open(server);
    await negotiate(c);
    c.send(Buffer.from([0xff]));
    c.send('{"execute":"query-name","id":5}\n');
    assert.equal(await c.next(), `{"error": {"class": "GenericError", "desc": "JSON parse error, stray '\\uFFFD'"}}`);
    assert.equal(await c.next(), '{"return": {}, "id": 5}');
    c.send('{"execute":"query-name", "id":"partial');
    c.send(Buffer.from([0x1b]));
    c.send('{"execute":"query-name","id":6}\n');
    assert.equal(
      await c.next(),
      `{"error": {"class": "GenericError", "desc": "JSON parse error, stray '\\"partial\\u001B'"}}`,
    );
    assert.equal(await c.next(), '{"return": {}, "id": 6}');
    await server.close();
  });

  test('a partial request is dropped when the client leaves; the next client starts clean', async () => {
    const server = qemuLike();
    const calls: string[] = [];
    server.register('query-name', (_a, ctx) => {
      calls.push(ctx.session.label);
      return {};
    });
    const { c, session } = await open(server, { label: 'first' });
    await negotiate(c);
    c.send('{"execute":"query-name"');
    c.stream.end();
    await withDeadline(session.whenClosed(), 5000, 'session close');
    assert.deepEqual(calls, []);
    const { c: c2 } = await open(server, { label: 'second' });
    assert.equal(
      await c2.ask('{"execute":"query-name"}'),
      `{"error": {"class": "CommandNotFound", "desc": "Expecting capabilities negotiation with 'qmp_capabilities'"}}`,
    );
    await server.close();
  });
});

describe('dispatch', () => {
  test('handler results: undefined is {}, RawJson is verbatim, bigint and nested values are QEMU-printed', async () => {
    const server = new QmpServer();
    server.register('nothing', () => undefined);
    server.register('raw', () => new RawJson('{"b": 1, "a": [true]}'));
    server.register('big', () => ({ n: 2n ** 63n, list: [1.5, 'é', null] }));
    server.register('async', async () => ({ ok: true }));
    const { c } = await open(server);
    await negotiate(c);
    assert.equal(await c.ask('{"execute":"nothing"}'), '{"return": {}}');
    assert.equal(await c.ask('{"execute":"raw"}'), '{"return": {"b": 1, "a": [true]}}');
    assert.equal(
      await c.ask('{"execute":"big"}'),
      '{"return": {"list": [1.5, "\\u00E9", null], "n": 9223372036854775808}}',
    );
    assert.equal(await c.ask('{"execute":"async","id":"a"}'), '{"return": {"ok": true}, "id": "a"}');
    await server.close();
  });

  test('thrown errors become QMP errors: QmpCommandError keeps class and desc, others are GenericError', async () => {
    const server = new QmpServer();
    server.register('dnf', () => {
      throw new QmpCommandError('DeviceNotFound', "Device 'x' not found");
    });
    server.register('plain', () => {
      throw new Error('it broke');
    });
    server.register('rejects', async () => {
      throw new QmpCommandError('KVMMissingCap', 'no kvm');
    });
    server.register('string', () => {
      throw 'odd';
    });
    const { c } = await open(server);
    await negotiate(c);
    assert.equal(
      await c.ask('{"execute":"dnf","id":1}'),
      `{"id": 1, "error": {"class": "DeviceNotFound", "desc": "Device 'x' not found"}}`,
    );
    assert.equal(await c.ask('{"execute":"plain"}'), '{"error": {"class": "GenericError", "desc": "it broke"}}');
    assert.equal(await c.ask('{"execute":"rejects"}'), '{"error": {"class": "KVMMissingCap", "desc": "no kvm"}}');
    assert.equal(await c.ask('{"execute":"string"}'), '{"error": {"class": "GenericError", "desc": "odd"}}');
    // The session is still healthy.
    assert.equal(
      await c.ask('{"execute":"nope"}'),
      '{"error": {"class": "CommandNotFound", "desc": "The command nope has not been found"}}',
    );
    await server.close();
  });

  test('handlers get plain objects with JS numbers; bigint beyond 2^53; __proto__ stays data', async () => {
    const server = new QmpServer();
    let seen: Record<string, unknown> | undefined;
    server.register('echo', (args) => {
      seen = args;
      return {};
    });
    const { c } = await open(server);
    await negotiate(c);
    await c.ask(
      '{"execute":"echo","arguments":{"a":1,"b":1.5,"c":9007199254740993,"d":[{"e":-1}],"__proto__":{"x":1}}}',
    );
    assert.ok(seen);
    assert.equal(seen['a'], 1);
    assert.equal(seen['b'], 1.5);
    assert.equal(seen['c'], 9007199254740993n);
    assert.deepEqual(seen['d'], [{ e: -1 }]);
    assert.equal(Object.getPrototypeOf(seen), Object.prototype);
    assert.ok(Object.hasOwn(seen, '__proto__'));
    await server.close();
  });

  test('arguments are checked against the schema with wrapped numbers, only for commands it knows', async () => {
    const calls: Array<[string, Record<string, unknown>]> = [];
    const schema: QmpServerSchema = {
      validateArguments(command, args, { numberKind }) {
        calls.push([command, { ...args }]);
        if (command !== 'balloon') return undefined;
        const v = args['value'];
        const k = numberKind(v);
        if (k === undefined || k.kind === 'double')
          return { desc: "Invalid parameter type for 'value', expected: integer" };
        return undefined;
      },
      command: (name) => (name === 'balloon' ? { allowOob: false } : name === 'fast' ? { allowOob: true } : undefined),
    };
    const server = new QmpServer({ schema });
    server.register('balloon', () => ({}));
    server.register('unchecked', () => ({}));
    server.register('fast', () => ({}));
    server.register('optout', () => ({}), { validate: false });
    const { c } = await open(server);
    await negotiate(c, true);
    assert.equal(await c.ask('{"execute":"balloon","arguments":{"value":1},"id":1}'), '{"return": {}, "id": 1}');
    assert.equal(
      await c.ask('{"execute":"balloon","arguments":{"value":1.0},"id":2}'),
      `{"id": 2, "error": {"class": "GenericError", "desc": "Invalid parameter type for 'value', expected: integer"}}`,
    );
    assert.equal(await c.ask('{"execute":"unchecked","arguments":{"value":1.0}}'), '{"return": {}}');
    assert.equal(await c.ask('{"execute":"optout","arguments":{"value":1.0}}'), '{"return": {}}');
    // allowOob defaults to the schema's.
    assert.equal(await c.ask('{"exec-oob":"fast","id":"o"}'), '{"return": {}, "id": "o"}');
    assert.deepEqual(
      calls.map(([n]) => n),
      ['balloon', 'balloon', 'fast'],
    );
    assert.ok(calls[0]?.[1]['value'] instanceof QNum);
    await server.close();
  });

  test("a call without arguments gets the schema's answer every time; the schema is asked once per command", async () => {
    const asked: string[] = [];
    const schema: QmpServerSchema = {
      validateArguments(command, args) {
        asked.push(`${command} ${Object.keys(args).join(',')}`);
        return command === 'needs' && !('x' in args) ? { desc: "Parameter 'x' is missing" } : undefined;
      },
      command: (name) => (name === 'needs' || name === 'query' ? {} : undefined),
    };
    const server = new QmpServer({ schema });
    let ran = 0;
    server.register('needs', () => {
      ran++;
      return {};
    });
    server.register('query', () => ({ n: ++ran }));
    const { c } = await open(server);
    await negotiate(c);
    const missing = '{"error": {"class": "GenericError", "desc": "Parameter \'x\' is missing"}}';
    assert.equal(await c.ask('{"execute":"needs"}'), missing);
    assert.equal(await c.ask('{"execute":"needs","arguments":{}}'), missing);
    assert.equal(await c.ask('{"execute":"needs","arguments":{"x":1}}'), '{"return": {}}');
    assert.equal(await c.ask('{"execute":"needs","arguments":{"x":1}}'), '{"return": {}}');
    assert.equal(await c.ask('{"execute":"query"}'), '{"return": {"n": 3}}');
    assert.equal(await c.ask('{"execute":"query"}'), '{"return": {"n": 4}}');
    assert.equal(ran, 4);
    assert.deepEqual(asked, ['needs ', 'needs x', 'needs x', 'query ']);
    await server.close();
  });

  test('fallback handler serves unregistered commands; preconfig refuses commands without allowPreconfig', async () => {
    const server = new QmpServer();
    server.register(
      'x-exit-preconfig',
      () => {
        server.preconfig = false;
      },
      { allowPreconfig: true },
    );
    server.register('query-name', () => ({}));
    server.setFallback((command, args) => ({ command, args }));
    const { c } = await open(server);
    await negotiate(c);
    assert.equal(
      await c.ask('{"execute":"anything","arguments":{"a":1}}'),
      '{"return": {"args": {"a": 1}, "command": "anything"}}',
    );
    server.preconfig = true;
    assert.equal(
      await c.ask('{"execute":"query-name"}'),
      `{"error": {"class": "GenericError", "desc": "The command 'query-name' is permitted only after machine initialization has completed"}}`,
    );
    assert.equal(await c.ask('{"execute":"x-exit-preconfig"}'), '{"return": {}}');
    assert.equal(await c.ask('{"execute":"query-name"}'), '{"return": {}}');
    server.setFallback(undefined);
    assert.equal(
      await c.ask('{"execute":"anything"}'),
      '{"error": {"class": "CommandNotFound", "desc": "The command anything has not been found"}}',
    );
    assert.ok(server.unregister('query-name'));
    assert.equal(server.hasCommand('query-name'), false);
    await server.close();
  });

  test('afterReply runs once the reply is written; events emitted in a handler come before its reply', async () => {
    const server = new QmpServer({ clock: () => 1_700_000_000_123_456 });
    const order: string[] = [];
    server.register('stop', (_a, ctx) => {
      ctx.server.emit('STOP');
      ctx.afterReply(() => {
        order.push('after');
        ctx.server.emit('LATER', { n: 1 });
      });
    });
    server.register('slow-stop', async (_a, ctx) => {
      await Promise.resolve();
      ctx.server.emit('STOP');
    });
    const { c } = await open(server);
    await negotiate(c);
    c.send('{"execute":"stop","id":1}\n');
    assert.equal(await c.next(), '{"timestamp": {"seconds": 1700000000, "microseconds": 123456}, "event": "STOP"}');
    assert.equal(await c.next(), '{"return": {}, "id": 1}');
    assert.equal(
      await c.next(),
      '{"timestamp": {"seconds": 1700000000, "microseconds": 123456}, "event": "LATER", "data": {"n": 1}}',
    );
    assert.deepEqual(order, ['after']);
    c.send('{"execute":"slow-stop","id":2}\n');
    assert.match(await c.next(), /"event": "STOP"/);
    assert.equal(await c.next(), '{"return": {}, "id": 2}');
    await server.close();
  });
});

describe('queue, OOB and flow control', () => {
  test('without OOB one request runs at a time and the next is not read until the reply is sent', async () => {
    const server = new QmpServer();
    const gate = deferred();
    const first = deferred();
    let started = 0;
    server.register('block', async () => {
      if (++started === 1) first.resolve();
      await gate.promise;
    });
    server.register('probe', () => ({}), { allowOob: true });
    const { c } = await open(server);
    await negotiate(c);
    c.send('{"execute":"block","id":1}\n{"execute":"block","id":2}\n{"exec-oob":"probe","id":3}\n');
    await withDeadline(first.promise, 5000, 'first block started');
    // A round trip through the event loop: nothing else may have been taken.
    await new Promise<void>((r) => setImmediate(r));
    assert.equal(started, 1);
    assert.equal(c.lines.length, 2);
    gate.resolve();
    assert.equal(await c.next(), '{"return": {}, "id": 1}');
    assert.equal(await c.next(), '{"return": {}, "id": 2}');
    // exec-oob without the capability is refused, after the in-band replies.
    assert.equal(
      await c.next(),
      `{"id": 3, "error": {"class": "GenericError", "desc": "QMP input member 'exec-oob' is unexpected"}}`,
    );
    await server.close();
  });

  test('with OOB an exec-oob overtakes a blocked command while fewer than 8 are queued (conformance 21)', async () => {
    const server = qemuLike();
    const gate = deferred();
    let running = 0;
    server.register('block', async () => {
      running++;
      await gate.promise;
    });
    server.register(
      'migrate-pause',
      () => {
        throw new Error('migrate-pause is currently only supported during postcopy-active state');
      },
      { allowOob: true },
    );
    const { c } = await open(server);
    await negotiate(c, true);
    let batch = '{"execute":"block","id":"b"}\n';
    for (let i = 0; i < 7; i++) batch += `{"execute":"query-name","id":${i}}\n`;
    batch += '{"exec-oob":"migrate-pause","id":"oob"}\n';
    c.send(batch);
    assert.equal(
      await c.next(),
      '{"id": "oob", "error": {"class": "GenericError", "desc": "migrate-pause is currently only supported during postcopy-active state"}}',
    );
    assert.equal(running, 1);
    gate.resolve();
    assert.equal(await c.next(), '{"return": {}, "id": "b"}');
    for (let i = 0; i < 7; i++) assert.equal(await c.next(), `{"return": {}, "id": ${i}}`);
    await server.close();
  });

  test('with OOB and 8 queued, reading stops: the exec-oob waits until the queue moves (conformance 21)', async () => {
    const server = qemuLike();
    const gate = deferred();
    server.register('block', async () => {
      await gate.promise;
    });
    server.register('migrate-pause', () => ({}), { allowOob: true });
    const { c } = await open(server);
    await negotiate(c, true);
    let batch = '{"execute":"block","id":"b"}\n';
    for (let i = 0; i < 8; i++) batch += `{"execute":"query-name","id":${i}}\n`;
    batch += '{"exec-oob":"migrate-pause","id":"oob"}\n';
    c.send(batch);
    // Prove the server has looked at its input: an event reaches the client, the OOB reply did not.
    await new Promise<void>((r) => setImmediate(r));
    server.emit('MARK');
    assert.match(await c.next(), /"event": "MARK"/);
    assert.equal(c.lines.length, 3);
    gate.resolve();
    const rest = [];
    for (let i = 0; i < 10; i++) rest.push(await c.next());
    assert.deepEqual(rest, [
      '{"return": {}, "id": "b"}',
      ...Array.from({ length: 8 }, (_, i) => `{"return": {}, "id": ${i}}`),
      '{"return": {}, "id": "oob"}',
    ]);
    await server.close();
  });

  test('maxQueuedRequests sets where reading stops: at N the OOB waits, at N-1 it overtakes', async () => {
    for (const [queued, overtakes] of [
      [2, true],
      [3, false],
    ] as const) {
      const server = new QmpServer({ maxQueuedRequests: 3 });
      const gate = deferred();
      server.register('block', async () => {
        await gate.promise;
      });
      server.register('q', () => ({}));
      server.register('o', () => ({}), { allowOob: true });
      const { c } = await open(server);
      await negotiate(c, true);
      let batch = '{"execute":"block","id":"b"}\n';
      for (let i = 0; i < queued; i++) batch += `{"execute":"q","id":${i}}\n`;
      c.send(`${batch}{"exec-oob":"o","id":"oob"}\n`);
      await new Promise<void>((r) => setImmediate(r));
      server.emit('MARK');
      const first = await c.next();
      if (overtakes) assert.equal(first, '{"return": {}, "id": "oob"}', `${queued} queued`);
      else assert.match(first, /MARK/, `${queued} queued`);
      gate.resolve();
      await server.close();
    }
  });

  test('EOF without OOB: every request sent before it is answered, then the connection ends', async () => {
    const server = qemuLike();
    const { c, session } = await open(server);
    c.send('{"execute":"qmp_capabilities"}\n{"execute":"query-name","id":1}\n{"execute":"query-name","id":2}\n');
    c.stream.end();
    await c.waitEnd();
    assert.deepEqual(c.lines.slice(1), ['{"return": {}}', '{"return": {}, "id": 1}', '{"return": {}, "id": 2}']);
    await withDeadline(session.whenClosed(), 5000, 'session closed');
    assert.equal(server.sessions.length, 0);
    await server.close();
  });

  test('EOF with OOB: requests sent before it are answered (a blocked one too), then the connection ends', async () => {
    const server = qemuLike();
    const gate = deferred();
    server.register('block', async () => {
      await gate.promise;
    });
    const { c, session } = await open(server);
    await negotiate(c, true);
    c.send('{"execute":"block","id":"b"}\n{"execute":"query-name","id":1}\n{"execute":"query-name","id":2}\n');
    c.stream.end();
    await new Promise<void>((r) => setImmediate(r));
    assert.equal(session.closed, false);
    gate.resolve();
    await c.waitEnd();
    assert.deepEqual(c.lines.slice(2), [
      '{"return": {}, "id": "b"}',
      '{"return": {}, "id": 1}',
      '{"return": {}, "id": 2}',
    ]);
    await server.close();
  });

  test('disconnect: queued requests are dropped, the running one is aborted and its reply discarded', async () => {
    const server = qemuLike();
    const gate = deferred();
    const started = deferred();
    let aborted = false;
    let queuedRan = 0;
    server.register('block', async (_a, ctx) => {
      ctx.signal.addEventListener('abort', () => {
        aborted = true;
      });
      started.resolve();
      await gate.promise;
    });
    server.register('q', () => {
      queuedRan++;
    });
    const { c, session } = await open(server);
    await negotiate(c, true);
    c.send('{"execute":"block"}\n{"execute":"q"}\n{"execute":"q"}\n');
    await withDeadline(started.promise, 5000, 'block started');
    c.stream.destroy();
    await withDeadline(session.whenClosed(), 5000, 'session closed');
    assert.equal(aborted, true);
    gate.resolve();
    await new Promise<void>((r) => setImmediate(r));
    assert.equal(queuedRan, 0);
    assert.equal(c.lines.length, 2);
    await server.close();
  });

  test('in-band commands of all sessions run one at a time (qemuDispatch), or per session (pipelinedDispatch)', async () => {
    for (const serialDispatch of [true, false]) {
      const server = new QmpServer({ dispatch: serialDispatch ? qemuDispatch() : pipelinedDispatch() });
      const gate = deferred();
      server.register('block', async () => {
        await gate.promise;
      });
      server.register('q', () => ({}));
      const { c: c1 } = await open(server);
      const { c: c2 } = await open(server);
      await negotiate(c1);
      await negotiate(c2);
      c1.send('{"execute":"block"}\n');
      await new Promise<void>((r) => setImmediate(r));
      c2.send('{"execute":"q","id":2}\n');
      if (serialDispatch) {
        await new Promise<void>((r) => setImmediate(r));
        server.emit('MARK');
        assert.match(await c2.next(), /MARK/);
        assert.match(await c1.next(), /MARK/);
        gate.resolve();
        assert.equal(await c2.next(), '{"return": {}, "id": 2}');
      } else {
        assert.equal(await c2.next(), '{"return": {}, "id": 2}');
        gate.resolve();
      }
      assert.equal(await c1.next(), '{"return": {}}');
      await server.close();
    }
  });

  test('a client that does not read is disconnected past maxOutputBytes, not before', async () => {
    const payload = 'x'.repeat(1000);
    const greeting =
      '{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": ""}, "capabilities": ["oob"]}}\r\n';
    const total = greeting.length + '{"return": {}}\r\n'.length + 3 * `{"return": "${payload}"}\r\n`.length;
    for (const [maxOutputBytes, disconnected] of [
      [total, false],
      [total - 1, true],
    ] as const) {
      // The peer never reads and holds at most 1 byte, so every byte written stays queued in the server's stream.
      const [a, b] = duplexPair(1);
      const server = new QmpServer({ maxOutputBytes });
      let calls = 0;
      const third = deferred();
      server.register('big', () => {
        if (++calls === 3) queueMicrotask(() => third.resolve());
        return payload;
      });
      const session = server.serve(b);
      const closed = new Promise<Error | undefined>((r) => session.once('close', (err) => r(err)));
      a.write('{"execute":"qmp_capabilities"}\n{"execute":"big"}\n{"execute":"big"}\n{"execute":"big"}\n');
      await withDeadline(third.promise, 5000, 'third big reply');
      if (disconnected) {
        const err = await withDeadline(closed, 5000, 'disconnect');
        assert.equal((err as { code?: string } | undefined)?.code, 'QMP_ERR_LIMIT');
      } else {
        assert.equal(session.closed, false, `${total} bytes queued with maxOutputBytes ${maxOutputBytes}`);
        assert.equal(b.writableLength, total);
      }
      a.destroy();
      await server.close();
    }
  });

  test('ctx.signal aborts and the session emits close when the client disconnects', async () => {
    const server = new QmpServer();
    const gate = deferred();
    let signal: AbortSignal | undefined;
    const started = deferred();
    server.register('block', async (_a, ctx) => {
      signal = ctx.signal;
      started.resolve();
      await gate.promise;
      return {};
    });
    const { c, session } = await open(server);
    await negotiate(c);
    c.send('{"execute":"block"}\n');
    await withDeadline(started.promise, 5000, 'handler started');
    const closed = session.whenClosed();
    c.stream.destroy();
    await closed;
    assert.equal(signal?.aborted, true);
    gate.resolve();
    await server.close();
  });
});
