/**
 * Where limit counters live and how they reach the store.
 *
 * Each limit owns a `CounterTable` of subjects (a consumer, a consumer+route, or a client
 * address). Commits only mark an entry dirty; a timer writes dirty entries to the store's
 * `usage` slice at most every `syncIntervalMs`, and the store makes them durable within its own
 * flush interval. Store keys are `<limit id> <subject>`; neither part contains a space.
 */

import type { Logger } from '../log/logger.ts';
import type { StoreData, UsageRecord } from '../store/types.ts';
import { Counter } from './limiters/index.ts';
import type { LimitScope } from './schema.ts';

/** The little the engine needs of `store/store.ts`'s Store. */
export interface UsageStore {
  readonly data: StoreData;
  update(mutate: (data: StoreData) => void): unknown;
}

export interface CounterEntry {
  counter: Counter;
  subject: string;
  /** The consumer counted, or null for client-address subjects. */
  consumer: string | null;
  storeKey: string;
}

export class CounterTable {
  readonly entries = new Map<string, CounterEntry>();

  constructor(
    readonly limitId: string,
    readonly scope: LimitScope,
  ) {}

  /** The entry of a subject, created on first use. */
  entry(subject: string): CounterEntry {
    let entry = this.entries.get(subject);
    if (!entry) {
      entry = {
        counter: new Counter(),
        subject,
        consumer: consumerOf(this.scope, subject),
        storeKey: `${this.limitId} ${subject}`,
      };
      this.entries.set(subject, entry);
    }
    return entry;
  }
}

/** Subject keys per scope; consumer+route joins with a space, which no name contains. */
export function subjectOf(
  scope: LimitScope,
  consumer: string,
  routeKey: string,
  clientAddress: string,
): string {
  if (scope === 'consumer') return consumer;
  if (scope === 'client-address') return clientAddress;
  return `${consumer} ${routeKey}`;
}

function consumerOf(scope: LimitScope, subject: string): string | null {
  if (scope === 'client-address') return null;
  const space = subject.indexOf(' ');
  return space === -1 ? subject : subject.slice(0, space);
}

export class UsageSync {
  readonly #store: UsageStore | undefined;
  readonly #log: Logger;
  readonly #dirty = new Set<CounterEntry>();
  #timer: NodeJS.Timeout | null = null;

  constructor(store: UsageStore | undefined, log: Logger, syncIntervalMs = 250) {
    this.#store = store;
    this.#log = log;
    if (store) {
      this.#timer = setInterval(() => this.sync(), syncIntervalMs);
      this.#timer.unref();
    }
  }

  /** A table for a limit, holding whatever the store kept for it. */
  table(limitId: string, scope: LimitScope): CounterTable {
    const table = new CounterTable(limitId, scope);
    const prefix = `${limitId} `;
    for (const [key, record] of Object.entries(this.#store?.data.usage ?? {})) {
      if (!key.startsWith(prefix)) continue;
      restore(table.entry(key.slice(prefix.length)).counter, record);
    }
    return table;
  }

  markDirty(entry: CounterEntry): void {
    if (this.#store) this.#dirty.add(entry);
  }

  /** Writes every dirty counter into the store (which then makes it durable). */
  sync(): void {
    if (!this.#store || this.#dirty.size === 0) return;
    const dirty = [...this.#dirty];
    this.#dirty.clear();
    const now = Date.now();

    try {
      this.#store.update((data) => {
        for (const entry of dirty) data.usage[entry.storeKey] = serialise(entry.counter, now);
      });
    } catch (error) {
      // A closed or broken store must not take the proxy down; counting goes on in memory.
      this.#log.warn('usage not saved', { error, entries: dirty.length });
    }
  }

  forget(entries: readonly CounterEntry[]): void {
    for (const entry of entries) this.#dirty.delete(entry);
    if (!this.#store || entries.length === 0) return;
    this.#store.update((data) => {
      for (const entry of entries) delete data.usage[entry.storeKey];
    });
  }

  saveClockOffset(offsetMs: number): void {
    this.#store?.update((data) => {
      data.clock = { offsetMs };
    });
  }

  close(): void {
    this.sync();
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}

function serialise(counter: Counter, now: number): UsageRecord {
  return {
    state: {
      windowStart: counter.windowStart,
      count: counter.count,
      previous: counter.previous,
      level: counter.level,
      levelAt: counter.levelAt,
    },
    ...(counter.resetAt === 0 ? {} : { resetAt: counter.resetAt }),
    updatedAt: now,
  };
}

function restore(counter: Counter, record: UsageRecord): void {
  const number = (value: unknown) =>
    typeof value === 'number' && Number.isFinite(value) ? value : 0;
  counter.windowStart = number(record.state.windowStart);
  counter.count = number(record.state.count);
  counter.previous = number(record.state.previous);
  counter.level = number(record.state.level);
  counter.levelAt = number(record.state.levelAt);
  counter.resetAt = number(record.resetAt);
}
