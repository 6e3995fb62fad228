import { statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { QmpConnectionError, QmpError, QmpTimeoutError } from '../errors/qmp-error.js';

/** How long the probe of a peer that did not greet with QMP waits for its first bytes. */
const PROBE_MS = 500;

/** What the first bytes a peer sends say about it. */
async function firstBytes(path: string): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const sock = createConnection(path);
    const done = (): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(text);
    };
    const timer = setTimeout(done, PROBE_MS);
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      text += chunk;
      if (text.includes('\n')) done();
    });
    sock.on('error', done);
    sock.on('close', done);
  });
}

/** QEMU's HMP banner: `QEMU 7.2.0 monitor - type 'help' for more information`. */
const HMP_BANNER = /^QEMU \S+ monitor - type 'help'/;

/** A local path (not HOST:PORT, not tcp:), as `QmpClient.connect` reads an address. */
function localPath(address: string): string | undefined {
  if (address.startsWith('unix:')) return address.slice(5).split(',')[0];
  if (address.startsWith('tcp:') || address.startsWith('tls:')) return undefined;
  if (address.includes('/')) return address.split(',')[0];
  return /:\d+$/.test(address) ? undefined : address;
}

/**
 * Turns a failed connection into the message a user needs: what the address really is (a directory,
 * a regular file, an HMP monitor) instead of the socket error it produced, and a greeting timeout
 * that names the deadline the user gave and both reasons a monitor stays silent.
 */
export async function diagnoseConnect(address: string, err: unknown, timeoutMs: number): Promise<unknown> {
  if (!(err instanceof QmpError)) return err;
  const path = localPath(address);
  if (err.code === 'QMP_ERR_CONNECT' && path !== undefined) {
    const kind = (() => {
      try {
        const st = statSync(path);
        return st.isDirectory() ? 'a directory' : st.isFile() ? 'a regular file' : undefined;
      } catch {
        return undefined;
      }
    })();
    if (kind !== undefined) {
      return new QmpConnectionError(
        'QMP_ERR_CONNECT',
        `${path} is ${kind}, not a socket (give the path of QEMU's -qmp unix:PATH,server=on,wait=off)`,
        { address, cause: err },
      );
    }
  }
  if ((err.code === 'QMP_ERR_JSON' || err.code === 'QMP_ERR_PROTOCOL') && path !== undefined) {
    const first = await firstBytes(path);
    if (HMP_BANNER.test(first)) {
      return new QmpConnectionError(
        'QMP_ERR_CONNECT',
        `${address} is an HMP (human) monitor, not QMP: start QEMU with -qmp (or -mon mode=control) for this socket`,
        { address, cause: err },
      );
    }
    if (first !== '' && !first.startsWith('{')) {
      return new QmpConnectionError(
        'QMP_ERR_CONNECT',
        `${address} is not a QMP monitor (it did not greet with QMP): ${err.message}`,
        {
          address,
          cause: err,
        },
      );
    }
  }
  if (err instanceof QmpTimeoutError && err.code === 'QMP_ERR_CONNECT_TIMEOUT' && err.message.startsWith('No QMP')) {
    return new QmpTimeoutError(
      `No QMP greeting from ${address} within ${timeoutMs} ms: another client holds this monitor (QEMU serves one at a time), or it is not a QMP monitor`,
      timeoutMs,
      { code: 'QMP_ERR_CONNECT_TIMEOUT', cause: err },
    );
  }
  return err;
}
