import type { ClientRequest } from 'node:http';

/**
 * Deadlines for many things at once (requests waiting for upstream headers, connections waiting
 * for a request head), kept by one sweeping timer instead of a timer each: measurably cheaper
 * per request on the hot path. Every item of one sweep shares one duration, so insertion order
 * is deadline order and a sweep stops at the first item still in time. Expiry is late by at most
 * a tenth of the duration (20 ms to 1 s).
 *
 * The waiting items sit in a queue of slots reused in place, not in a Map. A Map replaces its
 * table as entries come and go, and a replaced table that had reached the old generation keeps
 * the young items it still points to alive through every scavenge until the next full GC: at
 * proxy request rates that promoted whole request graphs (a megabyte a scavenge), which cost more
 * CPU per request than the request log does. Here a settled item leaves a hole the sweep skips;
 * a full queue is compacted in place, and grows only when most of its slots are in use.
 */
export class DeadlineSweep<T extends object> {
  readonly #ms: number;
  readonly #expire: (item: T) => void;
  /** Where a watched item keeps its slot; one key per sweep, as an item may wait in two. */
  readonly #slotKey = Symbol('deadline slot');
  #items: (T | undefined)[] = new Array<T | undefined>(INITIAL_SLOTS).fill(undefined);
  /** Epoch milliseconds, beside each slot; numbers here cost no allocation. */
  #deadlines = new Float64Array(INITIAL_SLOTS);
  /** The oldest slot that may still hold an item. */
  #head = 0;
  /** The slot the next item goes into. */
  #tail = 0;
  #waiting = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(ms: number, expire: (item: T) => void) {
    this.#ms = ms;
    this.#expire = expire;
  }

  /** Items whose clock is running. */
  get size(): number {
    return this.#waiting;
  }

  /** Starts (or restarts) the clock for `item`. */
  watch(item: T): void {
    this.settle(item);
    if (this.#tail === this.#items.length) this.#makeRoom();

    const slot = this.#tail++;
    this.#items[slot] = item;
    this.#deadlines[slot] = Date.now() + this.#ms;
    this.#setSlot(item, slot);
    this.#waiting++;

    if (this.#timer === undefined) {
      const every = Math.max(20, Math.min(1000, Math.floor(this.#ms / 10)));
      this.#timer = setInterval(() => this.#sweep(), every);
      this.#timer.unref();
    }
  }

  /** The awaited thing happened (or the item is gone): its clock stops. */
  settle(item: T): void {
    const slot = this.#slotOf(item);
    if (slot === undefined || slot < 0) return;
    this.#release(slot, item);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (let slot = this.#head; slot < this.#tail; slot++) {
      const item = this.#items[slot];
      if (item !== undefined) this.#release(slot, item);
    }
  }

  #sweep(): void {
    const now = Date.now();
    // Fields are read afresh each turn: `expire` may watch or settle items meanwhile.
    while (this.#head < this.#tail) {
      const slot = this.#head;
      const item = this.#items[slot];
      if (item === undefined) {
        this.#head++;
        continue;
      }
      if (this.#deadlines[slot]! > now) return;
      this.#release(slot, item);
      this.#expire(item);
    }
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #release(slot: number, item: T): void {
    this.#items[slot] = undefined;
    // -1 rather than delete: deleting a property turns the item's object slow.
    this.#setSlot(item, -1);
    this.#waiting--;
    if (slot === this.#head) this.#head++;
    // Empty: start over at the front, so the queue does not creep towards compaction.
    if (this.#waiting === 0) this.#head = this.#tail = 0;
  }

  /** Moves the waiting items to the front, in order; doubles the queue when most are waiting. */
  #makeRoom(): void {
    const items = this.#items;
    const deadlines = this.#deadlines;
    const grow = this.#waiting > items.length / 2;
    const nextItems = grow ? new Array<T | undefined>(items.length * 2).fill(undefined) : items;
    const nextDeadlines = grow ? new Float64Array(items.length * 2) : deadlines;

    let to = 0;
    for (let from = this.#head; from < this.#tail; from++) {
      const item = items[from];
      if (item === undefined) continue;
      nextItems[to] = item;
      nextDeadlines[to] = deadlines[from]!;
      this.#setSlot(item, to);
      to++;
    }
    if (!grow) items.fill(undefined, to, this.#tail);

    this.#items = nextItems;
    this.#deadlines = nextDeadlines;
    this.#head = 0;
    this.#tail = to;
  }

  #slotOf(item: T): number | undefined {
    return (item as Slotted)[this.#slotKey];
  }

  #setSlot(item: T, slot: number): void {
    (item as Slotted)[this.#slotKey] = slot;
  }
}

type Slotted = Record<symbol, number | undefined>;

const INITIAL_SLOTS = 64;

/** Upstream requests get `ms` to send their response headers, then fail with UPSTREAM_TIMEOUT. */
export function upstreamDeadlines(ms: number): DeadlineSweep<ClientRequest> {
  // A body that stalls after the headers is not cut here; the client's own timeout ends it
  // (an idle timer per body would bring back the per-request cost this avoids).
  return new DeadlineSweep(ms, (request) =>
    request.destroy(Object.assign(new Error('upstream timeout'), { code: 'UPSTREAM_TIMEOUT' })),
  );
}
