import type { QmpErrorCode } from './codes.js';

/** Options shared by every qmpkit error. */
export interface QmpErrorOptions {
  /** The underlying error (a socket error, a parse error, ...). */
  cause?: unknown;
}

/**
 * Base class of every error qmpkit throws or rejects with. `code` is stable across releases and is
 * what programs should branch on; `message` is for people.
 */
export class QmpError extends Error {
  /** Stable machine-readable code, see `docs/errors.md`. */
  readonly code: QmpErrorCode;

  constructor(code: QmpErrorCode, message: string, options: QmpErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
  }
}

/** Connecting failed, or an established connection was lost. */
export class QmpConnectionError extends QmpError {
  /** The address as the user gave it, when known. */
  readonly address: string | undefined;
  /** The errno-style code of the underlying socket error (`ENOENT`, `ECONNREFUSED`, ...), when known. */
  readonly syscallCode: string | undefined;

  constructor(
    code: 'QMP_ERR_CONNECT' | 'QMP_ERR_DISCONNECTED',
    message: string,
    options: QmpErrorOptions & { address?: string | undefined; syscallCode?: string | undefined } = {},
  ) {
    super(code, message, options);
    this.address = options.address;
    this.syscallCode = options.syscallCode;
  }
}

/** The peer sent something that is not QMP (or not JSON). */
export class QmpProtocolError extends QmpError {
  constructor(message: string, options: QmpErrorOptions & { code?: 'QMP_ERR_PROTOCOL' | 'QMP_ERR_JSON' } = {}) {
    super(options.code ?? 'QMP_ERR_PROTOCOL', message, options);
  }
}

/** A deadline passed: connect, a call, or a wait for an event. */
export class QmpTimeoutError extends QmpError {
  /** The deadline that passed, in milliseconds. */
  readonly timeoutMs: number;

  constructor(
    message: string,
    timeoutMs: number,
    options: QmpErrorOptions & { code?: 'QMP_ERR_TIMEOUT' | 'QMP_ERR_CONNECT_TIMEOUT' } = {},
  ) {
    super(options.code ?? 'QMP_ERR_TIMEOUT', message, options);
    this.timeoutMs = timeoutMs;
  }
}

/** The caller's `AbortSignal` fired. `cause` is the signal's reason. */
export class QmpAbortedError extends QmpError {
  constructor(message: string, options: QmpErrorOptions = {}) {
    super('QMP_ERR_ABORTED', message, options);
  }
}

/** The client or server is closed, or in a runstate where the call is not allowed. */
export class QmpStateError extends QmpError {
  /** The runstate at the time of the call. */
  readonly state: string;

  constructor(code: 'QMP_ERR_CLOSED' | 'QMP_ERR_STATE', message: string, state: string, options: QmpErrorOptions = {}) {
    super(code, message, options);
    this.state = state;
  }
}

/** A limit was exceeded. `limit` names the option that sets it (`maxMessageBytes`, ...). */
export class QmpLimitError extends QmpError {
  /** The option name that sets this limit. */
  readonly limit: string;
  /** The limit's value at the time. */
  readonly max: number;

  constructor(message: string, limit: string, max: number, options: QmpErrorOptions = {}) {
    super('QMP_ERR_LIMIT', message, options);
    this.limit = limit;
    this.max = max;
  }
}

/** Wrong use of the API or of a command line. */
export class QmpUsageError extends QmpError {
  constructor(message: string, options: QmpErrorOptions = {}) {
    super('QMP_ERR_USAGE', message, options);
  }
}

/** A value does not match the QAPI schema. `path` is where (`arguments.options.driver`). */
export class QmpValidationError extends QmpError {
  /** Dotted path of the offending member, with `[i]` for list elements. */
  readonly path: string;

  constructor(message: string, path: string, options: QmpErrorOptions = {}) {
    super('QMP_ERR_VALIDATION', message, options);
    this.path = path;
  }
}

/** A QAPI schema could not be read or is inconsistent. */
export class QmpSchemaError extends QmpError {
  constructor(message: string, options: QmpErrorOptions = {}) {
    super('QMP_ERR_SCHEMA', message, options);
  }
}

/** QEMU could not be started, or exited while we waited for it. */
export class QmpLaunchError extends QmpError {
  /** The exit code, when QEMU exited. */
  readonly exitCode: number | null;
  /** The signal that ended QEMU, when it was killed. */
  readonly signal: string | null;
  /** The full command line. */
  readonly argv: readonly string[];
  /** The last lines QEMU wrote to stderr. */
  readonly stderrTail: string;

  constructor(
    message: string,
    details: { exitCode: number | null; signal: string | null; argv: readonly string[]; stderrTail: string },
    options: QmpErrorOptions = {},
  ) {
    super('QMP_ERR_LAUNCH', message, options);
    this.exitCode = details.exitCode;
    this.signal = details.signal;
    this.argv = details.argv;
    this.stderrTail = details.stderrTail;
  }
}

/** A recorded QMP session could not be read: not a file, too large, or a line that is not a recorded message. */
export class QmpRecordingError extends QmpError {
  /** The recording's name (its path, or what the caller called it). */
  readonly recording: string;
  /** The 1-based line the problem is on, or `undefined` for the whole file. */
  readonly line: number | undefined;

  constructor(
    message: string,
    details: { recording: string; line?: number | undefined },
    options: QmpErrorOptions = {},
  ) {
    super('QMP_ERR_RECORDING', message, options);
    this.recording = details.recording;
    this.line = details.line;
  }
}

/**
 * File descriptors were given (`fds`) but cannot be passed: the connection is not a unix socket (TCP,
 * TLS, a `Duplex`, standard I/O), or qmpkit's native addon is not built or is disabled. Nothing was
 * sent. `reason` says why in a few words.
 */
export class QmpFdPassingError extends QmpError {
  /** Why descriptors cannot be passed (`not a unix socket`, `the native addon is not built: ...`). */
  readonly reason: string;

  constructor(message: string, reason: string, options: QmpErrorOptions = {}) {
    super('QMP_ERR_FD_UNAVAILABLE', message, options);
    this.reason = reason;
  }
}

/** A bug in qmpkit: an internal invariant broke (an impossible state transition, ...). Please report it. */
export class QmpInternalError extends QmpError {
  constructor(message: string, options: QmpErrorOptions = {}) {
    super('QMP_ERR_INTERNAL', message, options);
  }
}
