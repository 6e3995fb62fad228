import { QmpError } from './qmp-error.js';

/**
 * QEMU's error classes (`QapiErrorClass` in qapi/error.json). The same five in 7.2 and master; kept
 * open-ended because a server may send any string.
 */
export type QmpErrorClass =
  | 'GenericError'
  | 'CommandNotFound'
  | 'DeviceNotActive'
  | 'DeviceNotFound'
  | 'KVMMissingCap'
  | (string & {});

/**
 * QEMU answered a command with `{"error": {"class", "desc"}}`. `errorClass` and `desc` are QEMU's own
 * words, verbatim. The server framework throws this class too, and serializes it the same way.
 */
export class QmpCommandError extends QmpError {
  /** QEMU's error `class`, verbatim. */
  readonly errorClass: QmpErrorClass;
  /** QEMU's error `desc`, verbatim. */
  readonly desc: string;
  /** The command that was sent (its `execute`/`exec-oob` name), when known. */
  readonly command: string | undefined;
  /** The arguments that were sent, when known. */
  readonly arguments: unknown;
  /** The whole reply message as received, when there was one. */
  readonly reply: unknown;

  constructor(
    errorClass: QmpErrorClass,
    desc: string,
    details: { command?: string | undefined; arguments?: unknown; reply?: unknown } = {},
  ) {
    super(
      'QMP_ERR_COMMAND',
      details.command === undefined ? `${errorClass}: ${desc}` : `${details.command}: ${errorClass}: ${desc}`,
    );
    this.errorClass = errorClass;
    this.desc = desc;
    this.command = details.command;
    this.arguments = details.arguments;
    this.reply = details.reply;
  }
}
