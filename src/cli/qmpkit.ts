#!/usr/bin/env node
// The `qmpkit` binary: dispatches to the subcommands (see run-qmpkit.ts).
import { exitWhenFlushed, processIo } from './process-io.js';
import { runQmpkit } from './run-qmpkit.js';

runQmpkit(process.argv.slice(2), processIo()).then(exitWhenFlushed, (err: unknown) => {
  process.stderr.write(`qmpkit: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  exitWhenFlushed(70);
});
