// Starts a real qemu-ga as a host process on a private unix socket. It then acts on the machine that
// runs the tests, so every start passes QGA_BLOCKED_COMMANDS (the one place the list is written):
// everything that could change the machine is disabled, and tests call only read-only commands plus
// blocked ones (to check the agent's refusal). Each start owns its temp dir; stop() always cleans up.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { tryConnect } from './qemu.js';

/** Debian installs qemu-ga in /usr/sbin, which a user's PATH may lack. */
const QGA_CANDIDATES = process.env['QMPKIT_QEMU_GA']
  ? [process.env['QMPKIT_QEMU_GA']]
  : ['qemu-ga', '/usr/sbin/qemu-ga'];

/** Every command that changes the machine: blocked (`-b`) in every run of the real agent. */
export const QGA_BLOCKED_COMMANDS = [
  'guest-shutdown',
  'guest-suspend-disk',
  'guest-suspend-ram',
  'guest-suspend-hybrid',
  'guest-set-time',
  'guest-file-open',
  'guest-file-write',
  'guest-fsfreeze-freeze',
  'guest-fsfreeze-freeze-list',
  'guest-fsfreeze-thaw',
  'guest-fstrim',
  'guest-set-vcpus',
  'guest-set-user-password',
  'guest-set-memory-blocks',
  'guest-exec',
  'guest-ssh-add-authorized-keys',
  'guest-ssh-remove-authorized-keys',
] as const;

/** Commands the tests may send to the real agent besides the blocked ones: they only read. */
export const QGA_READ_ONLY_COMMANDS: ReadonlySet<string> = new Set([
  'guest-sync',
  'guest-sync-delimited',
  'guest-ping',
  'guest-info',
  'guest-get-osinfo',
  'guest-get-time',
  'guest-network-get-interfaces',
  'guest-get-host-name',
  'guest-get-timezone',
]);

let found: string | null | undefined;

function qgaBinary(): string | null {
  if (found === undefined)
    found = QGA_CANDIDATES.find((b) => spawnSync(b, ['-V'], { stdio: 'ignore' }).status === 0) ?? null;
  return found;
}

/** Marks the test skipped (loudly) when qemu-ga is missing outside CI; throws in CI. */
export function requireQga(t: TestContext): boolean {
  if (qgaBinary() !== null) return true;
  const msg = `qemu-ga not found: install it with 'apt-get install -y qemu-guest-agent'`;
  if (process.env['CI']) throw new Error(`qemu-ga is required in CI: ${msg}`);
  console.error(`\n!!! SKIPPING QEMU-GA TEST "${t.name}": ${msg}\n`);
  t.skip(msg);
  return false;
}

export interface QgaInstance {
  readonly socketPath: string;
  readonly proc: ChildProcess;
  /** Resolves when the agent has exited. */
  readonly exited: Promise<void>;
  stderr(): string;
  /** Kills the agent (SIGCONT first, in case a test stopped it, then SIGKILL) and removes the temp dir. */
  stop(): Promise<void>;
}

/** Starts `qemu-ga -m unix-listen` with the block list and resolves once its socket accepts. */
export async function startQga(startTimeoutMs = 20_000): Promise<QgaInstance> {
  const binary = qgaBinary();
  if (binary === null) throw new Error('qemu-ga not found: call requireQga(t) first');
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-qga-'));
  const socketPath = join(dir, 'qga.sock');
  mkdirSync(join(dir, 'state'));
  const argv = [
    '-m',
    'unix-listen',
    '-p',
    socketPath,
    '-t',
    join(dir, 'state'),
    '-f',
    join(dir, 'qga.pid'),
    '-b',
    QGA_BLOCKED_COMMANDS.join(','),
  ];
  const proc = spawn(binary, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const exited = new Promise<void>((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve();
    else proc.once('exit', () => resolve());
  });
  let done = false;
  void exited.then(() => {
    done = true;
  });
  const stop = async (): Promise<void> => {
    if (!done) {
      proc.kill('SIGCONT');
      proc.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // The probe connection counts as a client of the agent; it is closed at once.
  const deadline = Date.now() + startTimeoutMs;
  while (!(await tryConnect(socketPath))) {
    if (done || Date.now() > deadline) {
      await stop();
      throw new Error(`qemu-ga did not start: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { socketPath, proc, exited, stderr: () => err, stop };
}
