// A PendingCall for RequestTracker unit tests: an id from the tracker, the line it would write, and
// settle functions that do nothing.
import type { PendingCall, RequestTracker } from '../../src/client/request-tracker.js';

export interface TestCallOptions {
  oob?: boolean;
  /** Sent without an id (idlessInBand). */
  idless?: boolean;
  fds?: number[];
}

export function pendingCall(tracker: RequestTracker, command: string, opts: TestCallOptions = {}): PendingCall {
  const id = tracker.takeId();
  const idless = opts.idless === true;
  return {
    id,
    command,
    args: undefined,
    oob: opts.oob === true,
    idless,
    line: idless ? `{"execute":"${command}"}\n` : `{"execute":"${command}","id":${id}}\n`,
    fds: opts.fds,
    returnText: false,
    onReply: undefined,
    written: false,
    deadline: undefined,
    resolve: () => {},
    reject: () => {},
  };
}
