import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IdAllocator } from '../../src/client/id-allocator.js';
import { checkRequestLimits, countRequestTokens } from '../../src/client/request-limits.js';
import { type PendingCall, RequestTracker } from '../../src/client/request-tracker.js';
import { Runstate } from '../../src/client/runstate.js';
import { QmpInternalError, QmpLimitError } from '../../src/errors/index.js';
import { MAX_DEPTH, MAX_TOKEN_BYTES, MAX_TOKENS } from '../../src/limits.js';
import { pendingCall } from '../helpers/pending-call.js';

function call(tracker: RequestTracker, command: string, oob = false, idless = false): PendingCall {
  return pendingCall(tracker, command, { oob, idless });
}

test('Runstate: allowed moves pass, an impossible one throws QMP_ERR_INTERNAL', () => {
  const r = new Runstate();
  r.to('negotiating');
  r.to('ready');
  r.to('ready');
  r.to('closed');
  assert.throws(
    () => r.to('ready'),
    (e: unknown) => e instanceof QmpInternalError && e.code === 'QMP_ERR_INTERNAL' && /closed to ready/.test(e.message),
  );
  assert.equal(r.state, 'closed');
  const back = new Runstate();
  back.to('ready');
  assert.throws(() => back.to('negotiating'), QmpInternalError);
});

test('IdAllocator: given-back ids are reused first; at the last id it wraps to reuse, never to an id still out', () => {
  const ids = new IdAllocator(3);
  assert.deepEqual([ids.take(), ids.take(), ids.take()], [1, 2, 3]);
  assert.throws(
    () => ids.take(),
    (e: unknown) => e instanceof QmpInternalError && e.code === 'QMP_ERR_INTERNAL',
  );
  ids.release(2);
  assert.equal(ids.take(), 2, 'past the last id, a given-back one');
  assert.throws(() => ids.take(), QmpInternalError, '1 and 3 are still out');
  ids.release(3);
  ids.release(1);
  assert.equal(ids.take(), 1);
  assert.equal(ids.take(), 3);
});

test('RequestTracker: the in-band window holds the surplus, OOB overtakes, replies release in order', () => {
  const t = new RequestTracker();
  t.setWindow(2);
  const a = call(t, 'a');
  const b = call(t, 'b');
  const c = call(t, 'c');
  const o = call(t, 'o', true);
  assert.deepEqual(t.add(a), [a]);
  assert.deepEqual(t.add(b), [b]);
  assert.deepEqual(t.add(c), [], 'the window is full');
  assert.deepEqual(t.add(o), [o], 'exec-oob is not held');
  assert.equal(t.outstanding, 3);
  assert.equal(c.written, false);
  const m = t.match(a.id);
  assert.equal(m.kind, 'call');
  assert.deepEqual(m.kind === 'call' ? m.write : undefined, [c], 'a reply lets the held one go');
  assert.equal(c.written, true);
  assert.deepEqual(t.match(o.id), { kind: 'call', call: o, write: [] });
  assert.deepEqual(t.match(999), { kind: 'unknown' });
  assert.deepEqual(t.match('x'), { kind: 'unknown' });
});

test('RequestTracker: a given-up written call keeps its id and slot until its late reply; an unwritten one frees both', () => {
  const t = new RequestTracker();
  t.setWindow(1);
  const a = call(t, 'a');
  const b = call(t, 'b');
  t.add(a);
  t.add(b);
  t.abandon(b);
  assert.equal(t.occupied, 1, 'b was never written: gone');
  t.abandon(a);
  assert.equal(t.size, 0);
  assert.equal(t.occupied, 1, 'a still counts against the pending limit');
  assert.equal(t.outstanding, 1);
  assert.equal(t.takeId(), b.id, "b's id was given back at once");
  const c = call(t, 'c');
  assert.notEqual(c.id, a.id, "a's id is still out");
  assert.deepEqual(t.add(c), [], "a's late reply still holds QEMU's queue");
  const late = t.match(a.id);
  assert.equal(late.kind, 'late');
  assert.deepEqual(late.kind === 'late' ? late.write : undefined, [c]);
  assert.deepEqual(t.match(a.id), { kind: 'unknown' }, 'a second reply to the same id is unknown');
});

test('RequestTracker: an id-less reply is the sole outstanding call, else ambiguous', () => {
  const t = new RequestTracker();
  assert.deepEqual(t.matchIdless(), { kind: 'unknown' });
  const a = call(t, 'a');
  t.add(a);
  const b = call(t, 'b');
  t.add(b);
  assert.deepEqual(t.matchIdless(), { kind: 'ambiguous' });
  t.match(a.id);
  assert.deepEqual(t.matchIdless(), { kind: 'call', call: b, write: [] });
  const c = call(t, 'c');
  t.add(c);
  t.abandon(c);
  assert.deepEqual(t.matchIdless(), { kind: 'late', write: [] });
});

test('RequestTracker: the one call sent without an id takes the id-less reply, even among others', () => {
  const t = new RequestTracker();
  const a = call(t, 'a', false, true);
  t.add(a);
  assert.equal(t.idlessOut, true, 'a second call must carry an id');
  const b = call(t, 'b');
  t.add(b);
  assert.deepEqual(t.match(a.id), { kind: 'unknown' }, "the id-less call's key was never sent");
  assert.deepEqual(t.matchIdless(), { kind: 'call', call: a, write: [] });
  assert.equal(t.idlessOut, false);
  assert.deepEqual(t.match(b.id), { kind: 'call', call: b, write: [] });
  // Given up after being written, it keeps its place until its late reply comes.
  const c = call(t, 'c', false, true);
  t.add(c);
  t.abandon(c);
  assert.equal(t.idlessOut, true);
  const d = call(t, 'd');
  t.add(d);
  assert.deepEqual(t.matchIdless(), { kind: 'late', write: [] });
  assert.equal(t.idlessOut, false);
  // Held behind a full window, it cannot have been answered: an id-less reply is then not its.
  t.setWindow(1);
  const e = call(t, 'e', false, true);
  t.add(e);
  assert.equal(e.written, false);
  assert.deepEqual(t.matchIdless(), { kind: 'call', call: d, write: [e] }, 'd was the only written call');
  assert.deepEqual(t.matchIdless(), { kind: 'call', call: e, write: [] }, 'written now, e takes the next one');
});

test('countRequestTokens counts tokens, their bytes as encoded and the nesting', () => {
  assert.deepEqual(countRequestTokens('{"a": [1, true, "\\u007f\u00e9"]}\n'), {
    tokens: 11,
    // { "a" : [ 1 , true , "\u007fé" ] }: 1+3+1+1+1+1+4+1+(1+6+2+1)+1+1
    tokenBytes: 25,
    depth: 2,
  });
});

test('checkRequestLimits: nesting at QEMU limit passes, one more is refused', () => {
  const nest = (n: number): string => `${'['.repeat(n)}${']'.repeat(n)}`;
  assert.equal(checkRequestLimits('x', nest(MAX_DEPTH)), undefined);
  const err = checkRequestLimits('x', nest(MAX_DEPTH + 1));
  assert.ok(err instanceof QmpLimitError && err.limit === 'maxDepth' && err.max === MAX_DEPTH);
  // Brackets inside a string are not nesting.
  assert.equal(checkRequestLimits('x', `["${'['.repeat(MAX_DEPTH * 2)}"]`), undefined);
});

test('checkRequestLimits: token count at QEMU limit passes, one more is refused', () => {
  // [[] then ,0 pairs then ]: 4 + 2n tokens; with a trailing ,[] : 7 + 2n.
  const n = (MAX_TOKENS - 4) / 2;
  const atLimit = `[[]${',0'.repeat(n)}]`;
  assert.equal(countRequestTokens(atLimit).tokens, MAX_TOKENS);
  assert.equal(checkRequestLimits('x', atLimit), undefined);
  const onePast = `[[]${',0'.repeat((MAX_TOKENS - 6) / 2)},[]]`;
  assert.equal(countRequestTokens(onePast).tokens, MAX_TOKENS + 1);
  const err = checkRequestLimits('x', onePast);
  assert.ok(err instanceof QmpLimitError && err.limit === 'maxTokens');
});

test('checkRequestLimits: token bytes one under QEMU limit pass, at it are refused (escapes count as written)', () => {
  // ["…"]: 1 + (2 + k) + 1 token bytes.
  const under = `["${'a'.repeat(MAX_TOKEN_BYTES - 5)}"]`;
  assert.equal(countRequestTokens(under).tokenBytes, MAX_TOKEN_BYTES - 1);
  assert.equal(checkRequestLimits('x', under), undefined);
  const at = `["${'a'.repeat(MAX_TOKEN_BYTES - 10)}\\u007f"]`;
  assert.equal(countRequestTokens(at).tokenBytes, MAX_TOKEN_BYTES);
  const err = checkRequestLimits('x', at);
  assert.ok(err instanceof QmpLimitError && err.limit === 'maxTokenBytes' && err.max === MAX_TOKEN_BYTES);
});
