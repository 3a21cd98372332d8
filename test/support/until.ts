/**
 * Polls `condition` until it holds, for state that settles on its own timers (a store's
 * flush, a child's output). Fails after `ms` with what `explain` says about the state.
 */
export async function until(
  condition: () => boolean,
  explain: () => string = () => '',
  ms = 10_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not true within ${ms} ms. ${explain()}`.trim());
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
