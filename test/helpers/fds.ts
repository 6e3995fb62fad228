// File-descriptor passing in tests: whether the native addon is there (a test that needs it fails in
// CI when it is not, and skips loudly elsewhere), and a count of the test process's open descriptors
// to prove nothing leaked.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { loadFdAddon, type QmpFdAddon } from '../../src/transport/fd-addon.js';

/** The addon for a test that needs it; undefined (test skipped) when absent outside CI or disabled on purpose. */
export function requireFdAddon(t: TestContext): QmpFdAddon | undefined {
  const status = loadFdAddon();
  if (status.ok) return status.addon;
  // QMPKIT_NO_NATIVE=1 is a run without the addon on purpose: the tests that need it have nothing to test.
  if (process.env['CI'] && process.env['QMPKIT_NO_NATIVE'] !== '1')
    throw new Error(`the fd-passing addon is required in CI: ${status.reason}`);
  console.error(`\n!!! SKIPPING FD-PASSING TEST "${t.name}": ${status.reason}\n`);
  t.skip(status.reason);
  return undefined;
}

/** The descriptors this process has open now (`/proc/self/fd`, the listing's own one aside). */
export function openFds(): string[] {
  return readdirSync('/proc/self/fd').sort();
}

/**
 * Asserts the process has the descriptors it had at `before`. Closing is synchronous for files, but a
 * socket's handle is closed on the next turn of the loop: wait for those with a deadline.
 */
export async function assertNoFdLeak(before: readonly string[], what: string, withinMs = 5000): Promise<void> {
  const until = Date.now() + withinMs;
  let now = openFds();
  while (now.length > before.length && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 10));
    now = openFds();
  }
  assert.deepEqual(
    now.filter((fd) => !before.includes(fd)),
    [],
    `${what}: descriptors left open (had ${before.length}, now ${now.length})`,
  );
}
