// `qmpkit launch` as a process with real QEMU: a QEMU without a display is reported by its exit and
// cause first, QEMU's stderr is shown once, Ctrl-C reports QEMU's own ending, and SIGHUP or
// SIGTERM to qmpkit shuts QEMU down instead of leaving it running.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { CliProcess, QMPKIT, qmpkit } from '../cli/helpers/run-cli.js';
import { QEMU_BINARY, requireQemu } from '../helpers/qemu.js';

const HEADLESS = [QEMU_BINARY, '-machine', 'none', '-nodefaults', '-display', 'none'];

/** True while a process with this pid exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** QEMU's default display is GTK when it was built with it; without a display that fails. */
function hasGtk(): boolean {
  const r = spawnSync(QEMU_BINARY, ['-display', 'help'], { encoding: 'utf8' });
  return /^gtk$/m.test(r.stdout);
}

const noDisplayEnv = (): NodeJS.ProcessEnv => {
  const env = { ...process.env };
  delete env['DISPLAY'];
  delete env['WAYLAND_DISPLAY'];
  return env;
};

test('launch --shell on a machine without a display leads with the exit and the cause', async (t) => {
  if (!requireQemu(t)) return;
  if (!hasGtk()) {
    t.skip('this QEMU has no GTK display, so it does not fail without one');
    return;
  }
  const args = ['launch', '--shell', '--no-history', '--', QEMU_BINARY, '-machine', 'none', '-nodefaults'];
  const r = await qmpkit(args, { env: noDisplayEnv() });
  assert.equal(r.code, 3);
  const first = r.stderr.split('\n')[0] ?? '';
  assert.equal(
    first,
    'qmpkit launch: QEMU exited before it could greet on its QMP monitor (exit code 1): gtk initialization failed (no display here: add -display none)',
  );
  assert.doesNotMatch(r.stderr, /qemu-launch:/, 'no internal label');
  assert.equal(r.stderr.split('gtk initialization failed').length - 1, 2, 'the cause, and the stderr tail once');
});

test("launch without --shell shows QEMU's stderr once when QEMU fails", async (t) => {
  if (!requireQemu(t)) return;
  const r = await qmpkit(['launch', '--', ...HEADLESS, '-device', 'no-such-device']);
  assert.equal(r.code, 3);
  const lines = r.stderr.split('\n').filter((l) => l.includes("'no-such-device' is not a valid device model name"));
  // Once as QEMU wrote it, once in the first line of the report: never the tail again.
  assert.equal(lines.length, 2, r.stderr);
  assert.match(r.stderr, /^qemu-system-x86_64: .*no-such-device/m);
  assert.match(r.stderr, /qmpkit launch: QEMU exited before it could .* \(exit code 1\): .*no-such-device/);
  assert.doesNotMatch(r.stderr, /\nstderr:\n/);
});

for (const signal of ['SIGHUP', 'SIGTERM'] as const) {
  test(`${signal} to qmpkit launch shuts QEMU down: no orphan`, async (t) => {
    if (!requireQemu(t)) return;
    const p = new CliProcess(QMPKIT, ['launch', '--', ...HEADLESS]);
    try {
      await p.waitFor('stderr', /is running \(pid \d+\)/, 30_000);
      const pid = Number(/is running \(pid (\d+)\)/.exec(p.stderr)?.[1]);
      assert.ok(alive(pid));
      const r = await p.stop(signal);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /QEMU shut down \(quit\)/);
      assert.equal(alive(pid), false, 'QEMU has exited with qmpkit');
    } finally {
      p.kill();
    }
  });
}

test('Ctrl-C (SIGINT to the whole process group) reports that QEMU terminated on the signal', async (t) => {
  if (!requireQemu(t)) return;
  // qmpkit in its own process group stands for the terminal's foreground job.
  const job = new CliProcess(QMPKIT, ['launch', '--', ...HEADLESS], { detached: true });
  try {
    await job.waitFor('stderr', /is running \(pid \d+\)/, 30_000);
    const pid = job.proc.pid;
    assert.ok(pid !== undefined);
    process.kill(-pid, 'SIGINT');
    const r = await job.done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /QEMU terminated on signal 2\n$/);
  } finally {
    job.kill();
  }
});
