import type { QmpError } from '../errors/qmp-error.js';
import type { QmpGreeting } from '../protocol/messages.js';
import type { JsonObject, JsonValue } from '../wire/json-value.js';
import type { EventHub } from './event-hub.js';
import type { QmpRequestOptions } from './options.js';
import type { QmpRunstate } from './runstate.js';

/**
 * What `QmpClient` needs from the session under it: one `QmpSession`, or a `ReconnectingSession`
 * that moves from one session to the next when the connection is lost.
 */
export interface SessionLink {
  readonly events: EventHub;
  readonly greeting: QmpGreeting | undefined;
  readonly state: QmpRunstate;
  readonly oobEnabled: boolean;
  readonly pendingCount: number;
  readonly closed: Promise<QmpError | undefined>;
  onClose(handler: (reason: QmpError | undefined) => void): () => void;
  request(name: string, args: JsonObject | undefined, options?: QmpRequestOptions): Promise<JsonValue>;
  requestText(name: string, argumentsJson: string | undefined, options?: QmpRequestOptions): Promise<string>;
  close(): Promise<void>;
}
