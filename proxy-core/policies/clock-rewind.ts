/**
 * What `clock reset` does to counters. Moving the virtual clock back to real time leaves counters
 * stamped in the virtual future: a GCRA arrival time a day ahead would refuse for a day, a quota
 * would keep counting the virtual day. Such future-dated counters are cleared; counters that
 * are still in the past of the new "now" are kept as they are.
 */

import { nextCalendarBoundary } from './calendar-time.ts';
import type { CompiledLimit } from './compile.ts';
import type { CounterEntry } from './counters.ts';

export function clearFutureCounters(
  limits: readonly CompiledLimit[],
  monotonicNow: number,
  wallNow: number,
): CounterEntry[] {
  const cleared: CounterEntry[] = [];

  for (const limit of limits) {
    const { params } = limit;
    const nextReset = limit.limiter.usesWallClock
      ? nextCalendarBoundary(wallNow, params.per, params.timeZone)
      : 0;
    // GCRA may legitimately run ahead of now by its tolerance; more than that is the future.
    const gcraSlack = (params.periodMs / params.limit) * (params.burst + 1);

    for (const [subject, entry] of limit.counters.entries) {
      const c = entry.counter;
      const future = limit.limiter.usesWallClock
        ? c.resetAt > nextReset
        : c.windowStart > monotonicNow ||
          c.levelAt > monotonicNow ||
          ((limit.def.algorithm === 'gcra' || limit.def.algorithm === 'leaky-bucket') &&
            c.level > monotonicNow + gcraSlack);
      if (!future) continue;
      limit.counters.entries.delete(subject);
      cleared.push(entry);
    }
  }
  return cleared;
}
