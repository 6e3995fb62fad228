// Catches what would kill a user's process: unhandled rejections and uncaught exceptions raised
// while a test runs, so a test can assert there were none at a point it chooses.
import assert from 'node:assert/strict';

/** Lets the event loop turn `n` times: Node reports unhandled rejections once the microtasks of a turn drain. */
export async function loopTurns(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
}

/** Records unhandled rejections and uncaught exceptions from its creation until {@link StrayWatch.stop}. */
export class StrayWatch {
  readonly strays: Array<{ kind: 'unhandledRejection' | 'uncaughtException'; reason: unknown }> = [];
  readonly #onRejection = (reason: unknown): void => {
    this.strays.push({ kind: 'unhandledRejection', reason });
  };
  readonly #onException = (reason: unknown): void => {
    this.strays.push({ kind: 'uncaughtException', reason });
  };

  constructor() {
    process.on('unhandledRejection', this.#onRejection);
    process.on('uncaughtException', this.#onException);
  }

  /** Lets the loop turn so pending reports arrive, then fails if anything stray was seen. */
  async assertNone(what: string): Promise<void> {
    await loopTurns();
    const seen = this.strays.map(
      (s) => `${s.kind}: ${s.reason instanceof Error ? s.reason.message : String(s.reason)}`,
    );
    assert.deepEqual(seen, [], `${what}: nothing may reach the process unhandled`);
  }

  stop(): void {
    process.off('unhandledRejection', this.#onRejection);
    process.off('uncaughtException', this.#onException);
  }
}

/** Settles with `p`'s outcome, or rejects when it takes longer than `ms` (a deadline, not a measurement). */
export async function deadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_r, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not settled within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/** The outcome of `p` as a value, with a deadline: `{ ok, value }` or `{ ok: false, error }`. */
export async function outcome<T>(
  p: Promise<T>,
  ms: number,
  what: string,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return deadline(
    p.then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    ),
    ms,
    what,
  );
}
