import { QmpError } from '../errors/qmp-error.js';

/**
 * Exit codes of every `qmpkit` subcommand and of `qmp-shell`, in one place so scripts can rely on
 * them. `docs/cli.md` lists the same table.
 */
export const EXIT_CODES = {
  /** Success. */
  ok: 0,
  /** QEMU answered with an error (class and desc on stderr), or arguments failed schema validation. */
  qmpError: 1,
  /** Bad command line: unknown option, missing address, unparseable `key=value`; an unreadable recording. */
  usage: 2,
  /** Could not connect, the connection was lost, the peer broke the protocol, or QEMU failed to launch. */
  connection: 3,
  /** A deadline passed (`--timeout-ms`) before the command answered or `--count` events arrived. */
  timeout: 4,
  /** Interrupted by SIGINT, SIGTERM or SIGHUP (128 + SIGINT, as shells report Ctrl-C, for all three). */
  interrupted: 130,
  /** A bug in qmpkit: an error that is not a `QmpError`, or `QMP_ERR_INTERNAL`. */
  internal: 70,
} as const;

/** One of the exit codes above. */
export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/** Maps any error to the exit code a `qmpkit` command ends with. */
export function exitCodeFor(error: unknown): ExitCode {
  if (!(error instanceof QmpError)) return EXIT_CODES.internal;
  switch (error.code) {
    case 'QMP_ERR_COMMAND':
    case 'QMP_ERR_VALIDATION':
    case 'QMP_ERR_JOB':
    case 'QMP_ERR_MIGRATION':
      return EXIT_CODES.qmpError;
    case 'QMP_ERR_USAGE':
    case 'QMP_ERR_RECORDING':
      return EXIT_CODES.usage;
    case 'QMP_ERR_TIMEOUT':
      return EXIT_CODES.timeout;
    case 'QMP_ERR_ABORTED':
      return EXIT_CODES.interrupted;
    case 'QMP_ERR_CONNECT':
    case 'QMP_ERR_CONNECT_TIMEOUT':
    case 'QMP_ERR_DISCONNECTED':
    case 'QMP_ERR_CLOSED':
    case 'QMP_ERR_STATE':
    case 'QMP_ERR_PROTOCOL':
    case 'QMP_ERR_JSON':
    case 'QMP_ERR_LIMIT':
    case 'QMP_ERR_SCHEMA':
    case 'QMP_ERR_LAUNCH':
    case 'QMP_ERR_FD_UNAVAILABLE':
      return EXIT_CODES.connection;
    case 'QMP_ERR_INTERNAL':
      return EXIT_CODES.internal;
  }
}
