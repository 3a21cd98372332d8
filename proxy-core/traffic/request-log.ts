/**
 * The live request log: a bounded ring of the newest exchanges, masked before they are stored.
 *
 * `completed` runs once per request on the proxy's hot path, and only queues the exchange. At the
 * end of the event loop's turn (setImmediate) each queued exchange is masked into a `LogRecord`
 * (log-record.ts), the listeners (metrics, alerts, the stream) are told, and it is saved over the
 * oldest slot of the record store (record-store.ts), which keeps it outside the objects the GC
 * must copy. Memory stays flat however long the proxy runs. The ring keeps no index by id: a map
 * of 10,000 ids cost more per request, in hashing and garbage, than scanning the ring on the rare
 * lookup by id.
 *
 * Why the queue: done at once, the log's work came between the responses the proxy writes in one
 * turn, and each response then went out after a pause in which its reader (a client, on
 * loopback) had gone back to sleep; waking it is paid inside the proxy's write. Batched after the
 * turn's I/O, the same work cost measurably less CPU per request. Every read (query, get, size)
 * records what is queued first, so readers never see the log behind.
 */

import type { ExchangeHooks, ExchangeRecord } from '../server/exchange.ts';
import type { LogQuery, LogQueryResult, RequestLogEntry } from '../contract/control-api.ts';
import { Masker } from './masking.ts';
import { matchesQuery, normaliseQuery } from './log-filter.ts';
import { LogRecord } from './log-record.ts';
import { RecordStore } from './record-store.ts';
import { TurnQueue } from '../server/turn-queue.ts';

export const DEFAULT_LOG_CAPACITY = 10_000;
export const DEFAULT_BODY_CAP = 64 * 1024;

/**
 * Entries built for readers, kept by seq: a UI polls the newest page again and again, and an
 * entry never changes once built. Few enough that keeping them costs the GC next to nothing.
 */
const RECENT_ENTRIES = 256;

export interface RequestLogOptions {
  /** Entries kept; the oldest is dropped for each new one beyond this. @default 10000 */
  capacity?: number;
  /** Bytes of each body kept; longer bodies are marked truncated. @default 65536 */
  bodyCapBytes?: number;
  masker?: Masker;
  /** Bytes all kept bodies may take together; older bodies give way. @default 64 MiB */
  bodyArenaBytes?: number;
}

/** Told of each new record; a listener that passes it on sends `record.toEntry()`. */
export type RecordListener = (record: LogRecord) => void;

export class RequestLog implements ExchangeHooks {
  readonly capacity: number;
  readonly bodyCapBytes: number;
  #masker: Masker;
  readonly #bodyArenaBytes: number | undefined;
  #store: RecordStore;
  /** Slot the next record goes into. */
  #next = 0;
  #size = 0;
  #seq = 0;
  #recent = new Map<number, RequestLogEntry>();
  /** Finished exchanges not recorded yet: they wait for the end of the event loop's turn. */
  readonly #queued = new TurnQueue<ExchangeRecord>((exchanges) => {
    for (const exchange of exchanges) this.#recordSafely(exchange);
  }, 'records');
  #unloggable = 0;
  #listeners = new Set<RecordListener>();
  #clearListeners = new Set<() => void>();

  constructor(options: RequestLogOptions = {}) {
    this.capacity = Math.max(1, Math.floor(options.capacity ?? DEFAULT_LOG_CAPACITY));
    this.bodyCapBytes = Math.max(0, Math.floor(options.bodyCapBytes ?? DEFAULT_BODY_CAP));
    this.#masker = options.masker ?? new Masker();
    this.#bodyArenaBytes = options.bodyArenaBytes;
    this.#store = this.#newStore();
  }

  #newStore(): RecordStore {
    return new RecordStore({ capacity: this.capacity, bodyArenaBytes: this.#bodyArenaBytes });
  }

  get size(): number {
    this.flush();
    return this.#size;
  }

  get lastSeq(): number {
    this.flush();
    return this.#seq;
  }

  /** Masking rules change with the policy (its API-key header and parameter names). */
  setMasker(masker: Masker): void {
    // Exchanges that finished under the old policy are masked by its rules.
    this.flush();
    this.#masker = masker;
  }

  /** The exchange hook; an arrow so it can be handed over on its own. */
  readonly completed = (exchange: ExchangeRecord): void => {
    this.#queued.push(exchange);
  };

  /**
   * Records the exchanges queued so far, in the order they finished. Reads of the log do it
   * themselves; readers of what listeners keep (metrics, alerts) call it first.
   */
  readonly flush = (): void => {
    this.#queued.flush();
  };

  #recordSafely(exchange: ExchangeRecord): void {
    try {
      this.#record(exchange);
    } catch {
      // Nothing thrown here may reach the event loop: it would end the process.
      this.#unloggable++;
    }
  }

  #record(exchange: ExchangeRecord): void {
    // An exchange the log cannot describe throws here, before it takes a sequence number.
    const record = LogRecord.fromExchange(exchange, this.#seq + 1, this.#masker, this.bodyCapBytes);
    this.#seq++;

    for (const listener of this.#listeners) {
      try {
        listener(record);
      } catch {
        // A failing subscriber (a closed stream) must not break logging for the others.
      }
    }
    this.#save(record);
  }

  #save(record: LogRecord): void {
    const slot = this.#next;
    // The records that stay: all of them until the ring is full, then all but the one replaced.
    const staying = Math.min(this.#size, this.capacity - 1);
    const keepSlot = staying === 0 ? -1 : this.#slotAt(staying);
    this.#store.put(slot, record, keepSlot);

    this.#next = (slot + 1) % this.capacity;
    this.#size = staying + 1;
    // At their largest, the arenas drop the oldest records whose text no longer fits.
    while (this.#size > 1 && !this.#store.holds(this.#slotAt(this.#size))) this.#size--;
  }

  /** The slot of the `age`-th newest record (1 is the newest). */
  #slotAt(age: number): number {
    return (this.#next - age + this.capacity) % this.capacity;
  }

  /** Exchanges that could not be turned into an entry (a bug if ever above zero). */
  get unloggable(): number {
    this.flush();
    return this.#unloggable;
  }

  get(id: string): RequestLogEntry | null {
    this.flush();
    const view = this.#store.view();
    for (let age = 1; age <= this.#size; age++) {
      const slot = this.#slotAt(age);
      if (view.at(slot).id === id) return this.#entryAt(slot);
    }
    return null;
  }

  /** Newest first. */
  query(query: LogQuery = {}): LogQueryResult {
    this.flush();
    const filter = normaliseQuery(query);
    const entries: RequestLogEntry[] = [];
    let matched = 0;

    const view = this.#store.view();
    for (let age = 1; age <= this.#size; age++) {
      const slot = this.#slotAt(age);
      if (filter.since !== undefined && this.#store.seq(slot) <= filter.since) break;
      if (!matchesQuery(view.at(slot), filter)) continue;
      matched++;
      if (entries.length < filter.limit) entries.push(this.#entryAt(slot));
    }

    return { entries, matched, size: this.#size, capacity: this.capacity, lastSeq: this.#seq };
  }

  #entryAt(slot: number): RequestLogEntry {
    const seq = this.#store.seq(slot);
    let entry = this.#recent.get(seq);
    if (entry === undefined) {
      entry = this.#store.record(slot).toEntry();
      this.#recent.set(seq, entry);
      // A Map iterates in insertion order: the first key is the entry built longest ago.
      if (this.#recent.size > RECENT_ENTRIES)
        this.#recent.delete(this.#recent.keys().next().value!);
    }
    return entry;
  }

  clear(): number {
    this.flush();
    const cleared = this.#size;
    this.#store = this.#newStore();
    this.#recent.clear();
    this.#next = 0;
    this.#size = 0;
    for (const listener of this.#clearListeners) listener();
    return cleared;
  }

  /** `listener` hears of every exchange that finishes from now until it unsubscribes. */
  subscribe(listener: RecordListener): () => void {
    this.flush();
    this.#listeners.add(listener);
    return () => {
      this.flush();
      this.#listeners.delete(listener);
    };
  }

  onClear(listener: () => void): () => void {
    this.#clearListeners.add(listener);
    return () => this.#clearListeners.delete(listener);
  }
}
