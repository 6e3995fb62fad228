// How far readline moves up before it redraws its prompt, for printing above a live prompt.

/**
 * The rows readline will move up at its next redraw. Node's readline records them at each redraw
 * (`prevRows`, not public API), and after a paste that record lags behind the cursor, so printing by
 * the public `getCursorPos().rows` alone would leave the prompt in the wrong row. Where `prevRows`
 * is missing or not a row count (another Node, before the first redraw), the cursor's row is used.
 */
export function readlineRedrawRows(rl: object, cursorRows: number): number {
  const recorded = (rl as { prevRows?: unknown }).prevRows;
  return typeof recorded === 'number' && Number.isInteger(recorded) && recorded >= 0 ? recorded : cursorRows;
}
