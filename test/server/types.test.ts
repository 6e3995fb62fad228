// Compile-time checks of the typed server API (the file must compile; @ts-expect-error lines must
// fail to compile), plus a run of the typed handlers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QmpServer } from '../../src/server/index.js';
import { duplexPair, RawClient } from './helpers.js';

interface Commands {
  'query-status': { args: undefined; returns: { status: string; singlestep: boolean; running: boolean } };
  stop: { args: undefined; returns: Record<string, never> };
  'query-name': { args: undefined; returns: { name?: string } };
  eject: { args: { id?: string; force?: boolean }; returns: Record<string, never> };
}
interface Events {
  STOP: undefined;
  RESET: { guest: boolean; reason: string };
}

test('typed handlers and events', async () => {
  const s = new QmpServer<Commands, Events>();
  s.register('query-status', () => ({ running: true, singlestep: false, status: 'running' }));
  s.register('stop', (_a, ctx) => {
    ctx.server.emit('STOP');
  });
  s.register('query-name', async () => {});
  s.register('eject', (a) => {
    if (a.id !== undefined && a.force === true) s.emit('RESET', { guest: false, reason: a.id });
    return {};
  });
  // @ts-expect-error the return type must match the command's
  s.register('query-status', () => ({ status: 'running' }));
  // @ts-expect-error RESET needs its data
  s.emit('RESET');
  // @ts-expect-error unknown command
  s.register('nope', () => ({}));
  // @ts-expect-error wrong event data
  s.emit('RESET', { guest: 'no' });

  const [a, b] = duplexPair();
  s.serve(b);
  const c = new RawClient(a);
  await c.next();
  await c.ask('{"execute":"qmp_capabilities"}');
  c.send('{"execute":"eject","arguments":{"id":"cd0","force":true}}\n');
  assert.match(await c.next(), /"event": "RESET", "data": \{"guest": false, "reason": "cd0"\}/);
  assert.equal(await c.next(), '{"return": {}}');
  await s.close();
});

test('untyped servers accept any name and JSON data', async () => {
  const u = new QmpServer();
  u.register('anything', (args) => ({ a: args['x'] ?? null }));
  u.emit('FOO', { a: 1 });
  u.emit('BAR');
  assert.deepEqual(u.commandNames(), ['qmp_capabilities', 'anything']);
  await u.close();
});
