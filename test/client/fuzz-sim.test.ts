// A seeded fuzz test of the client against the simulated QEMU: random requests (queries, stop/cont,
// device_add/del, unknown commands, bad arguments, commands the test holds back), deadlines, aborts,
// event waiters and iterators, and disconnects from either side followed by a new client. After every
// step it checks that each caller got its own reply or its own error, exactly once.
// QMPKIT_FUZZ_SEED picks another seed, QMPKIT_FUZZ_STEPS another step count.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Duplex, Writable } from 'node:stream';
import { test } from 'node:test';
import { QmpClient } from '../../src/client/index.js';
import {
  QmpAbortedError,
  QmpCommandError,
  QmpConnectionError,
  QmpError,
  QmpProtocolError,
  QmpStateError,
  QmpTimeoutError,
} from '../../src/errors/index.js';
import type { UntypedCommands } from '../../src/protocol/command-map.js';
import type { QmpServerSession } from '../../src/server/index.js';
import { type QmpSimulator, startSimulator } from '../../src/simulator/index.js';
import { duplexPair } from '../helpers/duplex-pair.js';
import { prng } from '../helpers/prng.js';
import { deadline, loopTurns, StrayWatch } from '../helpers/strays.js';

const DEFAULT_SEED = 20_261_129;
const SEED = Number(process.env['QMPKIT_FUZZ_SEED'] ?? DEFAULT_SEED);
const STEPS = Number(process.env['QMPKIT_FUZZ_STEPS'] ?? 2000);
const SETTLE_MS = 20_000;
const KEYBOARDS = ['kbd0', 'kbd1', 'kbd2'];

interface FuzzEvents {
  X_TAG: { tag: number };
  STOP: undefined;
}
type Client = QmpClient<UntypedCommands, FuzzEvents>;

interface Conn {
  readonly n: number;
  readonly qmp: Client;
  readonly session: QmpServerSession;
  readonly stream: Duplex;
  /** Set before the test ends the session: from then on its calls may fail as disconnected or closed. */
  dead: boolean;
  /** X_TAG tags seen by an iterator and by an `on` handler. */
  readonly iterated: number[];
  readonly handled: number[];
  readonly loop: Promise<void>;
}

/** One call or waiter and what would count as its own outcome. */
interface Rec {
  readonly label: string;
  /** Waiters may wait for an event that never comes: drains do not wait for them. */
  readonly waiter?: boolean;
  readonly conn: Conn;
  readonly timed: boolean;
  readonly abort: AbortController | undefined;
  aborted: boolean;
  settles: number;
  /** Why the value is not this call's own reply, or undefined when it is. */
  readonly checkValue: (v: unknown) => string | undefined;
  /** For calls that may get a command error: why it is not theirs, or undefined. */
  readonly checkCommandError: ((e: QmpCommandError) => string | undefined) | undefined;
  done: Promise<void>;
}

function same(want: unknown): (v: unknown) => string | undefined {
  const w = JSON.stringify(want);
  return (v) => (JSON.stringify(v) === w ? undefined : `expected ${w}, got ${JSON.stringify(v)}`);
}

test(`client fuzz against the simulator (seed ${SEED}, ${STEPS} steps)`, async (t) => {
  const strays = new StrayWatch();
  const rand = prng(SEED);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const problems: string[] = [];
  const fail = (msg: string): void => {
    problems.push(msg);
  };
  const stderr = new Writable({ write: (_c, _e, cb) => cb() });
  // One client talks over a unix socket monitor (one client at a time, as in QEMU), the other over
  // an in-memory stream served directly.
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-fuzz-'));
  const socketPath = join(dir, 'qmp.sock');
  const sim: QmpSimulator = await startSimulator({
    argv: ['-machine', 'q35', '-nodefaults', '-name', 'fuzz', '-device', 'qemu-xhci,id=xhci'],
    qmp: [`unix:${socketPath},server=on,wait=off`],
    stderr,
  });
  const monitor = sim.monitors[0]!;
  // Commands only this test knows: x-hold answers {tag} once the test releases the tag (a command
  // that takes as long as the test wants), x-emit sends the event X_TAG {tag}.
  const released = new Set<number>();
  const gates = new Map<number, () => void>();
  let releasedUpTo = 0;
  const release = (tag: number): void => {
    released.add(tag);
    gates.get(tag)?.();
    gates.delete(tag);
  };
  const releaseAll = (upTo: number): void => {
    releasedUpTo = upTo;
    for (const [tag, open] of [...gates]) {
      gates.delete(tag);
      open();
    }
  };
  sim.server.register('x-hold', (args) => {
    const tag = Number(args?.['tag']);
    if (released.has(tag) || tag <= releasedUpTo) return { tag };
    return new Promise((resolve) => gates.set(tag, () => resolve({ tag })));
  });
  sim.server.register('x-emit', (args) => {
    sim.server.emit('X_TAG', { tag: Number(args?.['tag']) });
    return {};
  });

  let connCount = 0;
  const connect = async (overSocket: boolean): Promise<Conn> => {
    let stream: Duplex;
    let session: QmpServerSession | undefined;
    if (overSocket) {
      const sock = netConnect(socketPath);
      await deadline(once(sock, 'connect'), SETTLE_MS, 'socket connect');
      stream = sock;
    } else {
      const [clientSide, serverSide] = duplexPair();
      session = sim.server.serve(serverSide);
      stream = clientSide;
    }
    const qmp = await deadline(
      QmpClient.connect<UntypedCommands, FuzzEvents>(stream, { timeoutMs: SETTLE_MS }),
      SETTLE_MS,
      'connect',
    );
    // Negotiated: the monitor serves this client now.
    session ??= monitor.session;
    assert.ok(session, 'the monitor serves the new client');
    const iterated: number[] = [];
    const handled: number[] = [];
    const n = ++connCount;
    qmp.on('X_TAG', (e) => {
      // After close() (or any end) nothing more may reach the handlers.
      if (qmp.state !== 'ready') fail(`client ${n}: a handler got X_TAG ${e.data?.tag} in state ${qmp.state}`);
      else handled.push(e.data?.tag ?? -1);
    });
    const it = qmp.events({ names: ['X_TAG'] });
    const loop = (async () => {
      for await (const e of it) iterated.push(e.data?.tag ?? -1);
    })();
    return { n, qmp, session, stream, dead: false, iterated, handled, loop };
  };

  const recs: Rec[] = [];
  const seen = new Map<string, number>();
  const count = (what: string): void => {
    seen.set(what, (seen.get(what) ?? 0) + 1);
  };
  let tag = 0;
  let emitted = 0;

  const track = (rec: Omit<Rec, 'done' | 'settles' | 'aborted'>, p: Promise<unknown>): undefined => {
    const r = rec as Rec;
    r.settles = 0;
    r.aborted = false;
    r.done = p.then(
      (v) => {
        if (++r.settles > 1) fail(`${r.label}: settled twice`);
        count(r.waiter ? 'event' : 'reply');
        const why = r.checkValue(v);
        if (why) fail(`${r.label}: not its own reply: ${why}`);
      },
      (e: unknown) => {
        if (++r.settles > 1) fail(`${r.label}: settled twice`);
        count(e instanceof QmpError ? e.code : 'other');
        if (e instanceof QmpCommandError && r.checkCommandError) {
          const why = r.checkCommandError(e);
          if (why) fail(`${r.label}: not its own error: ${why}`);
        } else if (e instanceof QmpTimeoutError && e.code === 'QMP_ERR_TIMEOUT' && r.timed) {
          // its own deadline
        } else if (e instanceof QmpAbortedError && r.aborted) {
          // its own abort
        } else if (
          r.conn.dead &&
          ((e instanceof QmpConnectionError && e.code === 'QMP_ERR_DISCONNECTED') ||
            (e instanceof QmpStateError && e.code === 'QMP_ERR_CLOSED') ||
            e instanceof QmpProtocolError)
        ) {
          // its session ended
        } else {
          fail(`${r.label}: unexpected ${e instanceof QmpError ? e.code : ''} ${String(e)}`);
        }
      },
    );
    recs.push(r);
    return undefined;
  };

  const options = (): { timeoutMs?: number; signal?: AbortSignal; abort?: AbortController } => {
    const r = rand();
    if (r < 0.15) return { timeoutMs: 1 + Math.floor(rand() * 20) };
    if (r < 0.3) {
      const abort = new AbortController();
      return { signal: abort.signal, abort };
    }
    return {};
  };

  const request = (conn: Conn): undefined => {
    const n = ++tag;
    const { abort, ...opts } = options();
    const timed = opts.timeoutMs !== undefined;
    const base = { conn, timed, abort };
    const q = conn.qmp;
    const kind = Math.floor(rand() * 10);
    switch (kind) {
      case 0:
        return track(
          {
            ...base,
            label: `#${n} query-status`,
            checkValue: (v) =>
              typeof v === 'object' && v !== null && typeof (v as { running?: unknown }).running === 'boolean'
                ? undefined
                : `not a status: ${JSON.stringify(v)}`,
            checkCommandError: undefined,
          },
          q.executeRaw('query-status', undefined, opts),
        );
      case 1:
        return track(
          { ...base, label: `#${n} query-name`, checkValue: same({ name: 'fuzz' }), checkCommandError: undefined },
          q.executeRaw('query-name', undefined, opts),
        );
      case 2: {
        const cmd = pick(['stop', 'cont']);
        return track(
          { ...base, label: `#${n} ${cmd}`, checkValue: same({}), checkCommandError: undefined },
          q.executeRaw(cmd, undefined, opts),
        );
      }
      case 3:
      case 4: {
        const id = pick(KEYBOARDS);
        const add = kind === 3;
        return track(
          {
            ...base,
            label: `#${n} device_${add ? 'add' : 'del'} ${id}`,
            checkValue: same({}),
            checkCommandError: (e) => (e.desc.includes(`'${id}'`) ? undefined : `${e.errorClass}: ${e.desc}`),
          },
          add
            ? q.executeRaw('device_add', { driver: 'usb-kbd', id, bus: 'xhci.0' }, opts)
            : q.executeRaw('device_del', { id }, opts),
        );
      }
      case 5: {
        const name = `x-nope-${n}`;
        return track(
          {
            ...base,
            label: `#${n} ${name}`,
            checkValue: (v) => `an unknown command got ${JSON.stringify(v)}`,
            checkCommandError: (e) =>
              e.errorClass === 'CommandNotFound' && e.desc === `The command ${name} has not been found`
                ? undefined
                : `${e.errorClass}: ${e.desc}`,
          },
          q.executeRaw(name, undefined, opts),
        );
      }
      case 6:
        return track(
          {
            ...base,
            label: `#${n} query-name with a bad argument`,
            checkValue: (v) => `bad arguments got ${JSON.stringify(v)}`,
            checkCommandError: (e) =>
              e.desc === `Parameter 'bogus-${n}' is unexpected` ? undefined : `${e.errorClass}: ${e.desc}`,
          },
          q.executeRaw('query-name', { [`bogus-${n}`]: 1 }, opts),
        );
      case 7:
        return track(
          {
            ...base,
            label: `#${n} hmp`,
            checkValue: same(`unknown command: 'x-tag-${n}'\r\n`),
            checkCommandError: undefined,
          },
          q.executeRaw('human-monitor-command', { 'command-line': `x-tag-${n}` }, opts),
        );
      case 8:
        return track(
          { ...base, label: `#${n} x-hold`, checkValue: same({ tag: n }), checkCommandError: undefined },
          q.executeRaw('x-hold', { tag: n }, opts),
        );
      default:
        emitted = n;
        return track(
          { ...base, label: `#${n} x-emit`, checkValue: same({}), checkCommandError: undefined },
          q.executeRaw('x-emit', { tag: n }, opts),
        );
    }
  };

  const wait = (conn: Conn): void => {
    const { abort, ...opts } = options();
    const timed = opts.timeoutMs !== undefined;
    if (rand() < 0.3) {
      track(
        {
          conn,
          timed,
          abort,
          waiter: true,
          label: `waiter STOP on client ${conn.n}`,
          checkValue: (v) => ((v as { event?: string }).event === 'STOP' ? undefined : JSON.stringify(v)),
          checkCommandError: undefined,
        },
        conn.qmp.waitForEvent('STOP', opts),
      );
      return;
    }
    // A tag that may or may not be emitted later.
    const want = tag + 1 + Math.floor(rand() * 4);
    track(
      {
        conn,
        timed,
        abort,
        waiter: true,
        label: `waiter X_TAG ${want} on client ${conn.n}`,
        checkValue: (v) => {
          const e = v as { event?: string; data?: { tag?: number } };
          return e.event === 'X_TAG' && e.data?.tag === want ? undefined : JSON.stringify(v);
        },
        checkCommandError: undefined,
      },
      conn.qmp.waitForEvent('X_TAG', { ...opts, match: { tag: want } }),
    );
  };

  const settleAll = async (what: string): Promise<void> => {
    releaseAll(tag);
    const calls = recs.filter((r) => !r.waiter).map((r) => r.done);
    await deadline(Promise.all(calls), SETTLE_MS, `${what} (seed ${SEED})`);
  };

  /** Checks a finished client: its iterator ended and saw what its handler saw, in the same order, once each. */
  const checkEnded = async (conn: Conn): Promise<void> => {
    await deadline(conn.loop, SETTLE_MS, `iterator of client ${conn.n} ends (seed ${SEED})`);
    if (JSON.stringify(conn.iterated) !== JSON.stringify(conn.handled))
      fail(`client ${conn.n}: iterator saw ${conn.iterated.join(',')}, handler saw ${conn.handled.join(',')}`);
    // Events come in the server's order (which is not tag order: sessions are served in turn).
    if (new Set(conn.iterated).size !== conn.iterated.length) fail(`client ${conn.n}: an event came twice`);
  };

  const conns: Conn[] = [await connect(true), await connect(false)];
  try {
    for (let step = 0; step < STEPS; step++) {
      const r = rand();
      const conn = pick(conns);
      if (r < 0.55) request(conn);
      else if (r < 0.65) wait(conn);
      else if (r < 0.75) {
        const live = recs.filter((x) => x.abort && !x.aborted);
        const victim = live.length > 0 ? pick(live) : undefined;
        if (victim) {
          victim.aborted = true;
          victim.abort?.abort();
        }
      } else if (r < 0.88) {
        if (gates.size > 0) release(pick([...gates.keys()]));
        else if (rand() < 0.5) release(tag + 1);
      } else if (r < 0.95) {
        // Every reply is in when a command sent after all of them is answered (in-band order).
        await settleAll(`drain at step ${step}`);
        for (const c of conns) {
          const echo = c.qmp.executeRaw('human-monitor-command', { 'command-line': `x-drain-${step}` });
          assert.equal(
            await deadline(echo, SETTLE_MS, `drain echo (seed ${SEED})`),
            `unknown command: 'x-drain-${step}'\r\n`,
            `seed ${SEED}`,
          );
          assert.equal(c.qmp.pendingCount, 0, `client ${c.n} has nothing pending after a drain (seed ${SEED})`);
          assert.equal(c.qmp.state, 'ready', `seed ${SEED}`);
        }
      } else {
        const i = conns.indexOf(conn);
        conn.dead = true;
        const how = pick(['server closes', 'socket destroyed', 'client closes']);
        if (how === 'server closes') void conn.session.close();
        else if (how === 'socket destroyed') conn.stream.destroy();
        else void conn.qmp.close();
        // The server may still be running a held command of the dead session.
        releaseAll(tag);
        await deadline(conn.qmp.closed, SETTLE_MS, `${how}: client ${conn.n} sees the end (seed ${SEED})`);
        await deadline(
          Promise.all(recs.filter((x) => x.conn === conn).map((x) => x.done)),
          SETTLE_MS,
          `${how}: calls of client ${conn.n} settle (seed ${SEED})`,
        );
        await checkEnded(conn);
        conns[i] = await connect(i === 0);
      }
      await loopTurns(1);
      assert.deepEqual([...problems], [], `seed ${SEED}, step ${step} (QMPKIT_FUZZ_SEED=${SEED} to replay)`);
    }
    await settleAll('final drain');
    for (const c of conns) {
      c.dead = true;
      await c.qmp.close();
      await checkEnded(c);
    }
    await deadline(Promise.all(recs.map((r) => r.done)), SETTLE_MS, `waiters settle (seed ${SEED})`);
    await strays.assertNone(`seed ${SEED}`);
    assert.deepEqual([...problems], [], `seed ${SEED}`);
    for (const r of recs) assert.equal(r.settles, 1, `${r.label} settled once (seed ${SEED})`);
    t.diagnostic(`outcomes: ${JSON.stringify(Object.fromEntries(seen))}, clients: ${connCount}`);
    assert.ok(emitted > 0 && recs.length > STEPS / 2, 'the run exercised events and calls');
  } catch (err) {
    console.error(`client fuzz failed with seed ${SEED}: QMPKIT_FUZZ_SEED=${SEED} replays it`);
    throw err;
  } finally {
    strays.stop();
    for (const c of conns) {
      c.dead = true;
      c.stream.destroy();
    }
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
