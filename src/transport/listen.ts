import { chmod, lstat, mkdtemp, rename, rm, unlink } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { Duplex } from 'node:stream';
import { QmpConnectionError, QmpUsageError } from '../errors/index.js';
import { debug } from '../trace/index.js';
import { parseAddress, type QmpAddress } from './address.js';

/** A listening QMP address: unix socket, TCP port, an inherited listening fd, or stdio. */
export interface QmpListenTransport {
  /** The address actually bound (a TCP port of 0 replaced by the real one). */
  readonly address: QmpAddress;
  /** The listening socket; `undefined` for `stdio`. */
  readonly server: Server | undefined;
  /**
   * Stops listening (connections already accepted stay open), closes a stdio stream, and removes
   * the unix socket file this listener created.
   */
  close(): Promise<void>;
}

/** Options of {@link listenTransport}. */
export interface QmpListenOptions {
  /** Called for every accepted connection (for `stdio`: once, at once). Sockets are half-open capable. */
  onConnection: (stream: Duplex) => void;
}

// Linux's sun_path holds 108 bytes including the NUL.
const MAX_UNIX_PATH_BYTES = 107;

function errnoOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;
}

function listenOn(
  server: Server,
  target: { path: string } | { host: string; port: number } | { fd: number },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    const done = (): void => {
      server.off('error', onError);
      resolve();
    };
    if ('fd' in target) server.listen({ fd: target.fd }, done);
    else if ('path' in target) server.listen(target.path, done);
    else server.listen({ host: target.host, port: target.port, ipv6Only: false }, done);
  });
}

/** True when something accepts connections on the unix socket at `path`. */
function socketIsLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function removeStaleSocket(path: string, text: string): Promise<void> {
  let st: Awaited<ReturnType<typeof lstat>>;
  try {
    st = await lstat(path);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return;
    throw err;
  }
  // QEMU unlinks whatever is at the path; we only remove a socket nobody listens on, so a typo
  // cannot delete a file or steal a live monitor.
  if (!st.isSocket()) {
    throw new QmpConnectionError('QMP_ERR_CONNECT', `Cannot listen on '${text}': ${path} exists and is not a socket`, {
      address: text,
      syscallCode: 'EEXIST',
    });
  }
  if (await socketIsLive(path)) {
    throw new QmpConnectionError(
      'QMP_ERR_CONNECT',
      `Cannot listen on '${text}': a server is already listening on ${path}`,
      {
        address: text,
        syscallCode: 'EADDRINUSE',
      },
    );
  }
  await unlink(path).catch((err: unknown) => {
    if (errnoOf(err) !== 'ENOENT') throw err;
  });
}

/**
 * Binds a unix socket that is mode 0600 from its first moment: it is created inside a fresh 0700
 * directory next to the target, chmod'ed, then renamed into place (the bound socket follows its
 * inode). Falls back to bind + chmod when the temporary path would be too long.
 */
async function listenUnix(server: Server, path: string, text: string): Promise<{ dev: number; ino: number }> {
  await removeStaleSocket(path, text);
  const dir = dirname(path);
  let tmpDir: string | undefined;
  try {
    tmpDir = await mkdtemp(join(dir, '.qmpkit-'));
    const tmpPath = join(tmpDir, 's');
    if (Buffer.byteLength(tmpPath) > MAX_UNIX_PATH_BYTES)
      throw Object.assign(new Error('too long'), { code: 'ENAMETOOLONG' });
    await listenOn(server, { path: tmpPath });
    await chmod(tmpPath, 0o600);
    await rename(tmpPath, path);
  } catch (err) {
    if (server.listening) {
      await new Promise<void>((r) => server.close(() => r()));
      throw err;
    }
    if (errnoOf(err) !== 'ENAMETOOLONG' && errnoOf(err) !== 'EACCES') throw err;
    await listenOn(server, { path });
    await chmod(path, 0o600);
  } finally {
    if (tmpDir !== undefined) await rm(tmpDir, { recursive: true, force: true }).catch(() => {});
  }
  const st = await lstat(path);
  debug('listening on unix socket %s (%s)', path, basename(path));
  return { dev: st.dev, ino: st.ino };
}

function wrapListenError(err: unknown, text: string): Error {
  if (err instanceof QmpConnectionError || err instanceof QmpUsageError) return err;
  const code = errnoOf(err);
  return new QmpConnectionError(
    'QMP_ERR_CONNECT',
    `Cannot listen on '${text}': ${(err as Error)?.message ?? String(err)}`,
    {
      address: text,
      syscallCode: code,
      cause: err,
    },
  );
}

/**
 * Listens on a QEMU-style address (`unix:PATH,server=on,wait=off`, `tcp:HOST:PORT,server=on,wait=off`,
 * the legacy `server,nowait` spelling, `fd:N` for an inherited listening socket, or `stdio`).
 *
 * - Unix sockets are created with mode 0600. A stale socket file (nobody listening) is removed
 *   first, as QEMU does; the file is removed again on close.
 * - TCP binds exactly the host given. `localhost`/`127.0.0.1` is the safe choice: QMP has no
 *   authentication, and anyone who can connect controls the VM.
 * - `stdio` yields one connection made of `process.stdin` and `process.stdout`.
 *
 * `wait=on` (QEMU's blocking wait for the first client) is not modelled: listening never blocks.
 */
export async function listenTransport(
  address: string | QmpAddress,
  options: QmpListenOptions,
): Promise<QmpListenTransport> {
  const addr = typeof address === 'string' ? parseAddress(address) : address;
  const text = typeof address === 'string' ? address : addr.kind;
  if (addr.kind === 'stdio') return listenStdio(addr, options);

  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket: Socket) => {
    options.onConnection(socket);
  });
  let bound: QmpAddress = addr;
  let unixId: { dev: number; ino: number } | undefined;
  try {
    if (addr.kind === 'unix') {
      unixId = await listenUnix(server, addr.path, text);
    } else if (addr.kind === 'tcp') {
      await listenOn(server, { host: addr.host, port: addr.port });
      const a = server.address();
      if (a !== null && typeof a === 'object') bound = { ...addr, port: a.port };
    } else {
      await listenOn(server, { fd: addr.fd });
    }
  } catch (err) {
    throw wrapListenError(err, text);
  }

  let closing: Promise<void> | undefined;
  return {
    address: bound,
    server,
    close(): Promise<void> {
      closing ??= (async () => {
        // Stops listening at once; net.Server's callback would wait for every open connection, which
        // the caller closes on its own.
        server.close();
        if (addr.kind === 'unix' && unixId !== undefined) {
          // Only remove the file if it is still our socket (someone may have replaced it).
          const st = await lstat(addr.path).catch(() => undefined);
          if (st !== undefined && st.dev === unixId.dev && st.ino === unixId.ino)
            await unlink(addr.path).catch(() => {});
        }
      })();
      return closing;
    },
  };
}

function listenStdio(addr: QmpAddress, options: QmpListenOptions): QmpListenTransport {
  const stdin = process.stdin;
  const stdout = process.stdout;
  const stream = new Duplex({
    allowHalfOpen: true,
    read() {
      stdin.resume();
    },
    write(chunk: Buffer | string, encoding: BufferEncoding, cb: (err?: Error | null) => void) {
      stdout.write(chunk, encoding, (err) => cb(err ?? null));
    },
    final(cb) {
      cb();
    },
    destroy(err, cb) {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.pause();
      cb(err);
    },
  });
  const onData = (chunk: Buffer): void => {
    if (!stream.push(chunk)) stdin.pause();
  };
  const onEnd = (): void => {
    stream.push(null);
  };
  stdin.on('data', onData);
  stdin.on('end', onEnd);
  stdin.pause();
  queueMicrotask(() => options.onConnection(stream));
  return {
    address: addr,
    server: undefined,
    close(): Promise<void> {
      stream.destroy();
      return Promise.resolve();
    },
  };
}
