/**
 * Counters that hold nothing. A limit counted per client address gets a counter for every
 * address that ever called; without pruning, that table and the store's usage slice would
 * grow for as long as Tollgate runs. A counter whose limit is whole again decides exactly as a
 * new one would (windows are aligned to the clock, buckets are full, quotas reset), so
 * dropping it changes no answer.
 */

import type { CompiledLimit } from './compile.ts';
import type { CounterEntry } from './counters.ts';
import { newOutcome } from './limiters/index.ts';
import { capacityOf } from './usage-report.ts';

export interface IdleEntry {
  limit: CompiledLimit;
  entry: CounterEntry;
}

/** The entries of `limits` with nothing used, checked at cost 0 (which counts nothing). */
export function idleEntries(
  limits: readonly CompiledLimit[],
  monotonicNow: number,
  wallNow: number,
): IdleEntry[] {
  const idle: IdleEntry[] = [];
  const outcome = newOutcome();

  for (const limit of limits) {
    const now = limit.limiter.usesWallClock ? wallNow : monotonicNow;
    const capacity = capacityOf(limit);
    for (const entry of limit.counters.entries.values()) {
      limit.limiter.check(entry.counter, now, 0, limit.params, outcome);
      if (outcome.remaining >= capacity) idle.push({ limit, entry });
    }
  }
  return idle;
}
