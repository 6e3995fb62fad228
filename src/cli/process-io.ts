import type { CliIo } from './cli-io.js';
import { EXIT_CODES } from './exit-codes.js';

/**
 * The real process as a `CliIo`. The first SIGINT, SIGTERM or SIGHUP (the terminal closed) aborts
 * `signal` so the running command can stop cleanly (shut QEMU down, remove its temp dir, restore the
 * terminal); a second one exits at once.
 */
export function processIo(): CliIo {
  const ac = new AbortController();
  const onSignal = (name: NodeJS.Signals): void => {
    if (ac.signal.aborted) process.exit(EXIT_CODES.interrupted);
    ac.abort(new Error(`received ${name}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  return {
    // Touching process.stdin opens it (a stream over the pipe, file or terminal): only the commands
    // that read it pay for that, not a one-shot command.
    get stdin() {
      return process.stdin;
    },
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    signal: ac.signal,
  };
}

/** Exits with `code` once stdout and stderr have flushed what was written to them. */
export function exitWhenFlushed(code: number): void {
  let pending = 2;
  const done = (): void => {
    if (--pending === 0) process.exit(code);
  };
  // A closed pipe (`| head`) must not turn into an exception on the way out.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  process.stdout.write('', done);
  process.stderr.write('', done);
}
