/**
 * The live request log: a bounded ring of the newest exchanges, masked before they are stored.
 *
 * `completed` runs once per request on the proxy's hot path, so it records only what metrics
 * and alerts read (headers, query and path masked, see log-entry.ts) and overwrites the oldest
 * slot in place: memory stays flat however long the proxy runs. The URL and the masked bodies
 * are built when an entry is first read; every way out (`get`, `query`, `finished` for
 * subscribers that send entries on) finishes the entries it hands over.
 */

import type { ExchangeHooks, ExchangeRecord } from '../server/exchange.ts';
import type { LogQuery, LogQueryResult, RequestLogEntry } from '../contract/control-api.ts';
import { Masker } from './masking.ts';
import { matchesQuery, normaliseQuery } from './log-filter.ts';
import { finishEntry, isFinished, recordEntry, type PendingParts } from './log-entry.ts';

export const DEFAULT_LOG_CAPACITY = 10_000;
export const DEFAULT_BODY_CAP = 64 * 1024;

export interface RequestLogOptions {
  /** Entries kept; the oldest is dropped for each new one beyond this. @default 10000 */
  capacity?: number;
  /** Bytes of each body kept; longer bodies are marked truncated. @default 65536 */
  bodyCapBytes?: number;
  masker?: Masker;
}

/**
 * Told of each new entry before its URL and bodies are built (metrics and alerts need neither);
 * a listener that passes the entry on calls `finished(entry)` first.
 */
export type EntryListener = (entry: RequestLogEntry) => void;

export class RequestLog implements ExchangeHooks {
  readonly capacity: number;
  readonly bodyCapBytes: number;
  #masker: Masker;
  #ring: (RequestLogEntry | undefined)[];
  /** Raw bodies of the entry in the same slot, until it is finished. */
  #pending: (PendingParts | null)[];
  /** Slot the next entry goes into. */
  #next = 0;
  #size = 0;
  #seq = 0;
  /** Entry id to its slot. */
  #byId = new Map<string, number>();
  #listeners = new Set<EntryListener>();
  #clearListeners = new Set<() => void>();

  constructor(options: RequestLogOptions = {}) {
    this.capacity = Math.max(1, Math.floor(options.capacity ?? DEFAULT_LOG_CAPACITY));
    this.bodyCapBytes = Math.max(0, Math.floor(options.bodyCapBytes ?? DEFAULT_BODY_CAP));
    this.#masker = options.masker ?? new Masker();
    this.#ring = new Array<RequestLogEntry | undefined>(this.capacity);
    this.#pending = new Array<PendingParts | null>(this.capacity).fill(null);
  }

  get size(): number {
    return this.#size;
  }

  get lastSeq(): number {
    return this.#seq;
  }

  /** Masking rules change with the policy (its API-key header and parameter names). */
  setMasker(masker: Masker): void {
    this.#masker = masker;
  }

  /** The exchange hook; an arrow so it can be handed over on its own. */
  readonly completed = (record: ExchangeRecord): void => {
    let recorded: ReturnType<typeof recordEntry>;
    try {
      recorded = recordEntry(record, this.#seq + 1, this.#masker, this.bodyCapBytes);
    } catch {
      // An exchange the log cannot describe must not fail the proxy that reported it.
      this.unloggable++;
      return;
    }
    this.#seq++;
    this.#add(recorded.entry, recorded.pending);
  };

  /** Exchanges that could not be turned into an entry (a bug if ever above zero). */
  unloggable = 0;

  /** Stores an entry built elsewhere, as it is. */
  add(entry: RequestLogEntry): void {
    if (!isFinished(entry)) finishEntry(entry, null);
    this.#add(entry, null);
  }

  #add(entry: RequestLogEntry, pending: PendingParts | null): void {
    const slot = this.#next;
    const evicted = this.#ring[slot];
    if (evicted) this.#byId.delete(evicted.id);

    this.#ring[slot] = entry;
    this.#pending[slot] = pending;
    this.#byId.set(entry.id, slot);
    this.#next = (slot + 1) % this.capacity;
    if (this.#size < this.capacity) this.#size++;

    for (const listener of this.#listeners) {
      try {
        listener(entry);
      } catch {
        // A failing subscriber (a closed stream) must not break logging for the others.
      }
    }
  }

  get(id: string): RequestLogEntry | null {
    const slot = this.#byId.get(id);
    return slot === undefined ? null : this.#finish(slot);
  }

  /** The entry with its URL and bodies built, for listeners that send it on. */
  finished(entry: RequestLogEntry): RequestLogEntry {
    if (isFinished(entry)) return entry;
    const slot = this.#byId.get(entry.id);
    if (slot !== undefined && this.#ring[slot] === entry) return this.#finish(slot);
    // Already evicted (a listener far behind): it has no bodies left to add.
    finishEntry(entry, null);
    return entry;
  }

  #finish(slot: number): RequestLogEntry {
    const entry = this.#ring[slot]!;
    if (!isFinished(entry)) {
      finishEntry(entry, this.#pending[slot]!);
      this.#pending[slot] = null;
    }
    return entry;
  }

  /** Newest first. */
  query(query: LogQuery = {}): LogQueryResult {
    const filter = normaliseQuery(query);
    const entries: RequestLogEntry[] = [];
    let matched = 0;

    // The text filter reads the URL, so only then must every candidate be finished.
    const finishFirst = filter.text !== undefined;
    for (let i = 1; i <= this.#size; i++) {
      const slot = (this.#next - i + this.capacity) % this.capacity;
      let entry = this.#ring[slot];
      if (!entry) continue;
      if (filter.since !== undefined && entry.seq <= filter.since) break;
      if (finishFirst) entry = this.#finish(slot);
      if (!matchesQuery(entry, filter)) continue;
      matched++;
      if (entries.length < filter.limit) entries.push(this.#finish(slot));
    }

    return { entries, matched, size: this.#size, capacity: this.capacity, lastSeq: this.#seq };
  }

  clear(): number {
    const cleared = this.#size;
    this.#ring = new Array<RequestLogEntry | undefined>(this.capacity);
    this.#pending.fill(null);
    this.#byId.clear();
    this.#next = 0;
    this.#size = 0;
    for (const listener of this.#clearListeners) listener();
    return cleared;
  }

  subscribe(listener: EntryListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  onClear(listener: () => void): () => void {
    this.#clearListeners.add(listener);
    return () => this.#clearListeners.delete(listener);
  }
}
