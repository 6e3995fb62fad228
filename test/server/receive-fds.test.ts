// A QmpServer keeping descriptors that clients on unix sockets send with SCM_RIGHTS: a handler takes
// the first of the set that came last (the rest closed), a set waits for the next command that takes
// one, maxReceivedFds at and one past the limit, `receiveFds: false`, and descriptors held when the
// client leaves are closed. Every test checks this process leaked nothing.
import assert from 'node:assert/strict';
import { closeSync, fstatSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { QmpLimitError } from '../../src/errors/index.js';
import { QmpServer, type QmpServerOptions, type QmpServerSession } from '../../src/server/index.js';
import type { QmpFdAddon } from '../../src/transport/fd-addon.js';
import { assertNoFdLeak, openFds, requireFdAddon } from '../helpers/fds.js';

interface Setup {
  server: QmpServer;
  path: string;
  file: string;
  /** The inode of each descriptor a `take` command got, or null when none. */
  taken: Array<number | null>;
  closed: Promise<Error | undefined>;
  done(): Promise<void>;
}

async function setup(options: QmpServerOptions = {}): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), 'qmpkit-recv-fds-'));
  const file = join(dir, 'file');
  writeFileSync(file, 'x');
  const server = new QmpServer(options);
  const taken: Array<number | null> = [];
  server.register('take', (_args, ctx) => {
    const fd = ctx.takeFd();
    if (fd === undefined) {
      taken.push(null);
      return {};
    }
    taken.push(fstatSync(fd).ino);
    closeSync(fd);
    return {};
  });
  server.register('nothing', () => ({}));
  const path = join(dir, 'qmp.sock');
  const monitor = await server.listen(`unix:${path}`);
  const closed = new Promise<Error | undefined>((resolve) =>
    monitor.once('session', (s: QmpServerSession) => s.once('close', resolve)),
  );
  return {
    server,
    path,
    file,
    taken,
    closed,
    done: async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A raw client: reads lines, sends text with or without descriptors. */
class Raw {
  readonly sock: Socket;
  #text = '';
  constructor(path: string) {
    this.sock = connect(path);
    this.sock.setEncoding('utf8');
    this.sock.on('data', (d: string) => {
      this.#text += d;
    });
    this.sock.on('error', () => {});
  }
  async lines(n: number): Promise<string[]> {
    const until = Date.now() + 10_000;
    while (this.#text.split('\n').length - 1 < n) {
      if (Date.now() > until) throw new Error(`no ${n} lines within 10 s: ${JSON.stringify(this.#text)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return this.#text.split('\n').slice(0, n);
  }
  sendFds(addon: QmpFdAddon, text: string, fds: number[]): void {
    const fd = (this.sock as unknown as { _handle: { fd: number } })._handle.fd;
    assert.equal(addon.sendWithFds(fd, Buffer.from(text), fds), Buffer.byteLength(text));
  }
}

const cmd = (name: string): string => `{"execute":"${name}"}\n`;

test('a handler takes the first descriptor of the set that came last; a set waits for the command that takes it', async (t) => {
  const addon = requireFdAddon(t);
  if (addon === undefined) return;
  const before = openFds();
  const s = await setup();
  const a = openSync(s.file, 'r');
  const other = openSync(s.path.replace(/qmp\.sock$/, ''), 'r');
  try {
    const c = new Raw(s.path);
    await c.lines(1);
    c.sock.write(cmd('qmp_capabilities'));
    await c.lines(2);
    c.sendFds(addon, cmd('take'), [a, other]);
    await c.lines(3);
    c.sendFds(addon, cmd('nothing'), [other]);
    c.sock.write(cmd('take') + cmd('take'));
    // Answered before more is sent: bytes still unread when descriptors come are read with them (the
    // kernel hands them over with the read), so they would count as sent after them.
    await c.lines(6);
    c.sendFds(addon, ' ', [a]);
    c.sendFds(addon, ' ', [other]);
    c.sock.write(cmd('take'));
    await c.lines(7);
    const ino = (fd: number): number => fstatSync(fd).ino;
    assert.deepEqual(s.taken, [ino(a), ino(other), null, ino(other)]);
    c.sock.destroy();
  } finally {
    closeSync(a);
    closeSync(other);
    await s.done();
  }
  await assertNoFdLeak(before, 'takeFd');
});

test('maxReceivedFds: a set at the limit is kept, one past it disconnects the client', async (t) => {
  const addon = requireFdAddon(t);
  if (addon === undefined) return;
  const before = openFds();
  for (const [count, cut] of [
    [3, false],
    [4, true],
  ] as const) {
    const s = await setup({ maxReceivedFds: 3 });
    const fds = Array.from({ length: count }, () => openSync(s.file, 'r'));
    try {
      const c = new Raw(s.path);
      await c.lines(1);
      c.sock.write(cmd('qmp_capabilities'));
      await c.lines(2);
      c.sendFds(addon, cmd('take'), fds);
      if (cut) {
        const reason = await s.closed;
        assert.ok(reason instanceof QmpLimitError, String(reason));
        assert.equal(reason.limit, 'maxReceivedFds');
        assert.match(reason.message, /4 file descriptors .* more than maxReceivedFds \(3\)/);
      } else {
        assert.equal((await c.lines(3))[2], '{"return": {}}\r');
        assert.equal(s.taken.length, 1);
        assert.notEqual(s.taken[0], null);
      }
      c.sock.destroy();
    } finally {
      for (const fd of fds) closeSync(fd);
      await s.done();
    }
  }
  await assertNoFdLeak(before, 'maxReceivedFds');
});

test('receiveFds: false leaves reading to Node (the kernel drops the descriptors); held ones close with the client', async (t) => {
  const addon = requireFdAddon(t);
  if (addon === undefined) return;
  const before = openFds();
  const off = await setup({ receiveFds: false });
  const on = await setup();
  const fd = openSync(off.file, 'r');
  try {
    const c = new Raw(off.path);
    await c.lines(1);
    c.sock.write(cmd('qmp_capabilities'));
    await c.lines(2);
    c.sendFds(addon, cmd('take'), [fd]);
    await c.lines(3);
    assert.deepEqual(off.taken, [null]);
    c.sock.destroy();

    // Sent with a command that does not take them, then the client leaves: the server closes them.
    const d = new Raw(on.path);
    await d.lines(1);
    d.sock.write(cmd('qmp_capabilities'));
    await d.lines(2);
    d.sendFds(addon, cmd('nothing'), [fd, fd, fd]);
    await d.lines(3);
    d.sock.destroy();
    assert.equal(await on.closed, undefined);
  } finally {
    closeSync(fd);
    await off.done();
    await on.done();
  }
  await assertNoFdLeak(before, 'receiveFds false, closing with the client');
});
