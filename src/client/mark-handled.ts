/**
 * Returns `p` with a no-op rejection handler attached: the caller's own `await` still sees the
 * rejection, but a promise the library created and nobody awaits never becomes an unhandled one.
 */
export function markHandled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}
