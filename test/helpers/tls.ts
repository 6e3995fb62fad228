// A throwaway PKI made by openssl at test time, and QEMU 7.2 serving QMP over TLS with it.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { MACHINES, QEMU_BINARY } from './qemu.js';

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A CA and a server certificate for localhost/127.0.0.1, named as QEMU's tls-creds-x509 expects. */
export function makeServerCerts(dir: string): void {
  const script = [
    'openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca-cert.pem -days 2 -subj "/CN=qmpkit test CA"',
    'openssl req -newkey rsa:2048 -nodes -keyout server-key.pem -out server.csr -subj "/CN=localhost"',
    'printf "subjectAltName=DNS:localhost,IP:127.0.0.1\\n" > ext.cnf',
    'openssl x509 -req -in server.csr -CA ca-cert.pem -CAkey ca-key.pem -CAcreateserial -out server-cert.pem -days 2 -extfile ext.cnf',
  ].join(' && ');
  execFileSync('sh', ['-c', script], { cwd: dir, stdio: 'ignore' });
}

/** QEMU with its QMP monitor on 127.0.0.1:`port` behind TLS, with the certificates in `dir`. */
export function startTlsQemu(dir: string, port: number): ChildProcess {
  return spawn(
    QEMU_BINARY,
    [
      ...MACHINES.none,
      '-object',
      `tls-creds-x509,id=tls0,dir=${dir},endpoint=server,verify-peer=off`,
      '-chardev',
      `socket,id=qmp0,host=127.0.0.1,port=${port},server=on,wait=off,tls-creds=tls0`,
      '-mon',
      'chardev=qmp0,mode=control',
    ],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port` (QEMU gives no other sign). */
export async function waitListening(port: number, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
