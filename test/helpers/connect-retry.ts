// Connecting to a monitor that is (re)starting: refused or absent sockets are retried until a deadline.
import { QmpClient } from '../../src/client/index.js';
import { QmpConnectionError } from '../../src/errors/index.js';

/** Connects to `addr`, retrying connection errors every 20 ms for up to `ms`. */
export async function connectRetry(addr: string, ms = 15000): Promise<QmpClient> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await QmpClient.connect(addr, { timeoutMs: 5000 });
    } catch (e) {
      if (!(e instanceof QmpConnectionError) || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
