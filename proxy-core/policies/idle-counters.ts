/**
 * Counters that hold nothing. A limit counted per client address gets a counter for every
 * address that ever called; without pruning, that table and the store's usage slice would
 * grow for as long as Tollgate runs. A counter whose limit is whole again decides exactly as a
 * new one would (windows are aligned to the clock, buckets are full, quotas reset), so
 * dropping it changes no answer.
 */

import type { CompiledLimit } from './compile.ts';
import type { CounterEntry } from './counters.ts';
import { readCounters } from './usage-report.ts';

export interface IdleEntry {
  limit: CompiledLimit;
  entry: CounterEntry;
}

/** The entries of `limits` with nothing used. */
export function idleEntries(
  limits: readonly CompiledLimit[],
  monotonicNow: number,
  wallNow: number,
): IdleEntry[] {
  const idle: IdleEntry[] = [];
  readCounters(limits, monotonicNow, wallNow, (limit, entry, outcome, capacity) => {
    if (outcome.remaining >= capacity) idle.push({ limit, entry });
  });
  return idle;
}
