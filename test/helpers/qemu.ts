// Starts a real QEMU for an integration test. Each call owns its process and temp dir; stop() always
// cleans up. When QEMU is missing the test fails in CI and skips loudly elsewhere.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

export const QEMU_BINARY = process.env['QMPKIT_QEMU'] ?? 'qemu-system-x86_64';

let qemuPresent: boolean | undefined;
/** True when the QEMU binary runs. */
export function haveQemu(): boolean {
  if (qemuPresent === undefined) {
    const r = spawnSync(QEMU_BINARY, ['--version'], { stdio: 'ignore' });
    qemuPresent = r.status === 0;
  }
  return qemuPresent;
}

/**
 * Call first in a test that needs QEMU. Returns false (and marks the test skipped, loudly) when QEMU is
 * missing outside CI; throws in CI.
 */
export function requireQemu(t: TestContext): boolean {
  if (haveQemu()) return true;
  const msg = `${QEMU_BINARY} not found: install it with 'apt-get install -y qemu-system-x86'`;
  if (process.env['CI']) throw new Error(`QEMU is required in CI: ${msg}`);
  console.error(`\n!!! SKIPPING QEMU TEST "${t.name}": ${msg}\n`);
  t.skip(msg);
  return false;
}

/** Machine presets used by the tests. */
export const MACHINES = {
  none: ['-machine', 'none', '-nodefaults', '-display', 'none'],
  /** q35 under TCG with an IDE cd-rom `ide1-cd0` on drive `cd0` (empty unless `cdImage` is given). */
  q35: ['-machine', 'q35,accel=tcg', '-m', '64', '-nodefaults', '-display', 'none'],
} as const;

export interface QemuOptions {
  machine?: keyof typeof MACHINES;
  /** Explicit machine options, used instead of `machine`/`cdrom` (the monitor is still added). */
  args?: readonly string[];
  /** Add the IDE cd-rom (q35 only). With `cdImage: true` a small image is inserted. */
  cdrom?: boolean | 'media';
  /** Use `-chardev ... -mon chardev=qmp0,mode=control,pretty=on` instead of `-qmp`. */
  pretty?: boolean;
  /** Start paused (`-S`). */
  paused?: boolean;
  extraArgs?: string[];
  /** Deadline for the socket to appear, ms. */
  startTimeoutMs?: number;
}

export interface QemuInstance {
  readonly socketPath: string;
  readonly dir: string;
  readonly proc: ChildProcess;
  readonly argv: string[];
  stderr(): string;
  /** Resolves when QEMU has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Kills QEMU (SIGKILL) if still running and removes the temp dir. */
  stop(): Promise<void>;
}

/** True when something accepts connections on the unix socket at `path` (the probe is closed at once). */
export function tryConnect(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Starts QEMU and resolves once its QMP socket accepts connections (the probe connection is closed at once). */
export async function startQemu(opts: QemuOptions = {}): Promise<QemuInstance> {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-qemu-'));
  const socketPath = join(dir, 'qmp.sock');
  const argv: string[] = opts.args ? [...opts.args] : [...MACHINES[opts.machine ?? 'none']];
  if (opts.cdrom && !opts.args) {
    let drive = 'if=none,id=cd0,media=cdrom';
    if (opts.cdrom === 'media') {
      const img = join(dir, 'cd.img');
      writeFileSync(img, Buffer.alloc(2048 * 16));
      drive += `,file=${img},format=raw,readonly=on`;
    }
    argv.push('-drive', drive, '-device', 'ide-cd,drive=cd0,id=ide1-cd0,bus=ide.1');
  }
  if (opts.paused) argv.push('-S');
  if (opts.pretty) {
    argv.push('-chardev', `socket,id=qmp0,path=${socketPath},server=on,wait=off`);
    argv.push('-mon', 'chardev=qmp0,mode=control,pretty=on');
  } else {
    argv.push('-qmp', `unix:${socketPath},server=on,wait=off`);
  }
  argv.push(...(opts.extraArgs ?? []));
  const proc = spawn(QEMU_BINARY, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (d: string) => {
    stderr += d;
    if (stderr.length > 65536) stderr = stderr.slice(-32768);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal }));
    proc.once('error', () => resolve({ code: null, signal: null }));
  });
  let done = false;
  void exited.then(() => {
    done = true;
  });
  const stop = async (): Promise<void> => {
    if (!done) {
      proc.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (opts.startTimeoutMs ?? 20_000);
  // Polling connect() with a deadline: QEMU gives no other signal that its monitor is listening.
  for (;;) {
    if (done) {
      await stop();
      throw new Error(`QEMU exited at start: ${QEMU_BINARY} ${argv.join(' ')}\n${stderr}`);
    }
    if (await tryConnect(socketPath)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`QEMU did not open ${socketPath} in time\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { socketPath, dir, proc, argv: [QEMU_BINARY, ...argv], stderr: () => stderr, exited, stop };
}

/**
 * QEMU (machine `none`) with its monitor at `sock`, for tests that kill it and start another on the
 * same socket. The caller kills it; nothing waits for the socket to appear.
 */
export function startQemuAt(sock: string): { exited: Promise<void>; kill(): void } {
  const p = spawn(QEMU_BINARY, [...MACHINES.none, '-qmp', `unix:${sock},server=on,wait=off`], { stdio: 'ignore' });
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  return { exited, kill: () => p.kill('SIGKILL') };
}
