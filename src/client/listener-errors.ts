import { channel } from 'node:diagnostics_channel';
import type { QmpEvent } from '../protocol/messages.js';
import type { ListenerErrorHandler } from './event-hub.js';

/** The diagnostics channel on which every error thrown by an event handler is published. */
export const LISTENER_ERROR_CHANNEL = 'qmpkit:client:listener-error';

/** What is published on {@link LISTENER_ERROR_CHANNEL}. */
export interface QmpListenerErrorMessage {
  /** The session's label. */
  readonly connection: string;
  readonly error: unknown;
  readonly event: QmpEvent<unknown>;
}

const listenerErrors = channel(LISTENER_ERROR_CHANNEL);

/**
 * The reporter used for a session: publishes on the channel, then calls the user's handler, or by
 * default emits a process warning with code `QMPKIT_LISTENER_ERROR` (never an uncaught exception).
 */
export function listenerErrorReporter(label: string, handler: ListenerErrorHandler | undefined): ListenerErrorHandler {
  return (error, event) => {
    if (listenerErrors.hasSubscribers)
      listenerErrors.publish({ connection: label, error, event } satisfies QmpListenerErrorMessage);
    if (handler !== undefined) {
      handler(error, event);
      return;
    }
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.emitWarning(`qmpkit: a handler of event ${event.event} on ${label} threw: ${detail}`, {
      code: 'QMPKIT_LISTENER_ERROR',
    });
  };
}
