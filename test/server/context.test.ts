// What a handler sees: the session it gets is the one serve() returned (a stable identity for
// per-client state), and it reaches neither the session's queue nor its negotiation switch.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QmpServer, type QmpServerSession } from '../../src/server/index.js';
import { duplexPair, RawClient } from './helpers.js';

test('ctx.session is the handle serve() returned, without the connection internals', async () => {
  const server = new QmpServer();
  const seen: QmpServerSession[] = [];
  server.register('whoami', (_a, ctx) => {
    seen.push(ctx.session);
    return { label: ctx.session.label, negotiated: ctx.session.negotiated };
  });
  const [a, b] = duplexPair();
  const session = server.serve(b, { label: 'mine' });
  const c = new RawClient(a);
  await c.next();
  assert.equal(await c.ask('{"execute":"qmp_capabilities"}'), '{"return": {}}');
  assert.equal(await c.ask('{"execute":"whoami"}'), '{"return": {"negotiated": true, "label": "mine"}}');
  assert.equal(seen[0], session);
  assert.deepEqual(server.sessions, [session]);
  for (const internal of ['takeQueued', 'hasQueued', 'setNegotiated', 'handle', 'queued', 'inFlight'])
    assert.equal(internal in session, false, internal);
  const closed = new Promise<Error | undefined>((resolve) => session.once('close', resolve));
  await session.close();
  assert.equal(await closed, undefined);
  assert.equal(session.closed, true);
  await server.close();
});
