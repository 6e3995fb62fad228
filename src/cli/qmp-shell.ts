#!/usr/bin/env node
// The `qmp-shell` binary: QEMU's qmp-shell command line, qmpkit's shell.
import { runShell } from './commands/shell.js';
import { exitWhenFlushed, processIo } from './process-io.js';

runShell(process.argv.slice(2), processIo(), 'qmp-shell').then(exitWhenFlushed, (err: unknown) => {
  process.stderr.write(
    `qmp-shell: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  exitWhenFlushed(70);
});
