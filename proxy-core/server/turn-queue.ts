/**
 * Work gathered during one turn of the event loop and done together once the turn's I/O has
 * been read (setImmediate), in the order it was queued. The proxy starts requests and relays
 * responses this way, and the request log records exchanges this way: done as each message was
 * parsed, the same work cost the proxy about a fifth more CPU per request under load
 * (docs/benchmarks.md, items 3 and 9). The wait is the rest of the turn, not a timer.
 */
export class TurnQueue<T> {
  #items: T[] = [];

  /** `run` must not throw: what comes after it in the batch would wait for the next flush. */
  constructor(private readonly run: (item: T) => void) {}

  push(item: T): void {
    this.#items.push(item);
    if (this.#items.length === 1) setImmediate(this.flush);
  }

  /** Runs what is queued now; a reader that must not see stale state calls it early. */
  readonly flush = (): void => {
    if (this.#items.length === 0) return;
    const items = this.#items;
    this.#items = [];
    for (const item of items) this.run(item);
  };
}
