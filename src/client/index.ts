// client/: the QMP client session: runstate machine, greeting and negotiation, id allocation,
// pending table, deadlines and AbortSignal, the event hub with bounded subscriptions, QmpClient.
// Imports transport, protocol, wire, schema, errors, limits, trace and generated qapi types; never
// server, simulator, proxy, launcher or cli.
export {
  eventMatches,
  type QmpEventIterator,
  type QmpEventMatch,
  type QmpEventsOptions,
  type QmpWaitOptions,
} from './event-hub.js';
export { QmpClient, type QmpClientOptions, type QmpEventOf, type QmpExecuteOptions } from './qmp-client.js';
export type { QmpRunstate } from './runstate.js';
