/**
 * Work gathered during one turn of the event loop and done together once the turn's I/O has
 * been read (setImmediate), in the order it was queued. The proxy starts requests and relays
 * responses this way, and the request log records exchanges this way: done as each message was
 * parsed, the same work cost the proxy about a fifth more CPU per request under load
 * (docs/benchmarks.md, items 3 and 9). The wait is the rest of the turn, not a timer.
 *
 * All queues share one end-of-turn pass, in phases: the proxy's own reads and writes
 * (`exchanges`) first, bookkeeping such as the request log (`records`) after them, so that
 * recording never delays a response the proxy could already write. A record queued while the
 * exchanges run goes in the same pass; a relayed response usually finishes a tick after its
 * pass, so its record comes in the next one, again after that turn's exchanges.
 */

export type TurnPhase = 'exchanges' | 'records';

const PHASES: readonly TurnPhase[] = ['exchanges', 'records'];

export class TurnQueue<T> {
  #items: T[] = [];

  /**
   * `run` gets each batch whole, so it can take the batch in steps (all verdicts, then all
   * upstream requests). It must not throw: the rest of the batch would be lost.
   */
  constructor(
    private readonly run: (batch: readonly T[]) => void,
    readonly phase: TurnPhase,
  ) {}

  push(item: T): void {
    this.#items.push(item);
    if (this.#items.length === 1) schedule(this);
  }

  /** Runs what is queued now; a reader that must not see stale state calls it early. */
  readonly flush = (): void => {
    if (this.#items.length === 0) return;
    const batch = this.#items;
    this.#items = [];
    this.run(batch);
  };
}

/** What the end-of-turn pass needs of a queue, whatever it holds. */
interface Pending {
  readonly phase: TurnPhase;
  flush(): void;
}

const pending: Record<TurnPhase, Set<Pending>> = {
  exchanges: new Set(),
  records: new Set(),
};
let scheduled = false;

function schedule(queue: Pending): void {
  pending[queue.phase].add(queue);
  if (scheduled) return;
  scheduled = true;
  setImmediate(endOfTurn);
}

function endOfTurn(): void {
  // What a phase queues for itself or an earlier phase waits for the next turn's pass, so one
  // pass always ends and the next turn's I/O is read; a later phase still takes it this pass.
  scheduled = false;
  for (const phase of PHASES) {
    const queues = [...pending[phase]];
    pending[phase].clear();
    for (const queue of queues) queue.flush();
  }
}
