// Reconnect against real QEMU 7.2: it is frozen with a command written, killed (SIGKILL), and a new
// QEMU is started on the same socket.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { QmpClient, type QmpReconnectEvent } from '../../src/client/index.js';
import { QmpError } from '../../src/errors/index.js';
import { connectRetry } from '../helpers/connect-retry.js';
import { MACHINES, QEMU_BINARY, requireQemu } from '../helpers/qemu.js';
import { deadline, StrayWatch } from '../helpers/strays.js';

const LIMIT_MS = 20_000;

/** QEMU serving its monitor at `sock`; the test kills it and awaits `exited`. */
function startQemuAt(sock: string): {
  exited: Promise<void>;
  pid: number;
  signal(sig: NodeJS.Signals): void;
  kill(): void;
} {
  const p = spawn(QEMU_BINARY, [...MACHINES.none, '-qmp', `unix:${sock},server=on,wait=off`], { stdio: 'ignore' });
  const exited = new Promise<void>((r) => {
    p.once('exit', () => r());
    p.once('error', () => r());
  });
  return { exited, pid: p.pid ?? 0, signal: (sig) => p.kill(sig), kill: () => p.kill('SIGKILL') };
}

/** SIGSTOP, then wait (with a deadline) until the kernel reports the process stopped. */
async function freeze(pid: number, kill: (sig: NodeJS.Signals) => void): Promise<void> {
  kill('SIGSTOP');
  const until = Date.now() + LIMIT_MS;
  const state = (): string => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  };
  while (state() !== 'T') {
    if (Date.now() > until) throw new Error('QEMU did not stop');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('QEMU killed and restarted: the written stop fails and never reaches the new QEMU; the rest carries on', async (t) => {
  if (!requireQemu(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-reconnect-qemu-'));
  const sock = join(dir, 'qmp.sock');
  const watch = new StrayWatch();
  const q1 = startQemuAt(sock);
  let q2: ReturnType<typeof startQemuAt> | undefined;
  let client: QmpClient | undefined;
  try {
    // The first connect is not retried by the policy: wait for QEMU's socket like any client.
    await (await connectRetry(sock, LIMIT_MS)).close();
    client = await QmpClient.connect(sock, { reconnect: { initialDelayMs: 10, maxDelayMs: 100 } });
    const events: QmpReconnectEvent[] = [];
    let onBack: (() => void) | undefined;
    const back = new Promise<void>((r) => {
      onBack = r;
    });
    client.onReconnect((e) => {
      events.push(e);
      if (e.type === 'reconnected') onBack?.();
    });
    const stops: string[] = [];
    client.on('STOP', (e) => stops.push(e.event));
    const it = client.events({ names: ['STOP'] });
    await freeze(q1.pid, q1.signal);
    const stop = client.execute('stop');
    await new Promise<void>((r) => setImmediate(r));
    assert.equal(client.pendingCount, 1);
    q1.kill();
    await q1.exited;
    const err = await deadline(
      stop.then(
        () => undefined,
        (e: unknown) => e,
      ),
      LIMIT_MS,
      'stop',
    );
    assert.ok(err instanceof QmpError && err.code === 'QMP_ERR_DISCONNECTED', String(err));
    assert.match(err.message, /may or may not have run/);
    const waiting = client.execute('query-status');
    q2 = startQemuAt(sock);
    await deadline(back, LIMIT_MS, 'reconnected');
    assert.equal(events[0]?.type, 'disconnected');
    const status = await deadline(waiting, LIMIT_MS, 'query-status');
    assert.equal(status.status, 'running', 'the new QEMU never saw the stop');
    assert.equal(status.running, true);
    await client.execute('stop');
    assert.equal((await deadline(it.next(), LIMIT_MS, 'iterator')).value?.event, 'STOP');
    assert.equal(it.reconnects, 1);
    assert.deepEqual(stops, ['STOP']);
  } finally {
    await client?.close();
    q1.kill();
    q2?.kill();
    await q1.exited;
    await q2?.exited;
    rmSync(dir, { recursive: true, force: true });
    watch.stop();
  }
  await watch.assertNone('reconnect against QEMU');
});
