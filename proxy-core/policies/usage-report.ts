/**
 * `usage()`: what each subject has used of each limit, read without counting anything (a check
 * of cost 0), for the control API, the UI and `tollgate` commands.
 */

import type { CompiledLimit } from './compile.ts';
import type { CounterEntry } from './counters.ts';
import { newOutcome, type Outcome } from './limiters/index.ts';
import type { LimitScope, Period } from './schema.ts';

/** One subject's use of one limit. A type alias so it fits the control API's open record. */
export type UsageReport = {
  /** Null for limits counted per client address. */
  consumer: string | null;
  /** Consumer, `consumer api.route`, or a client address, per `scope`. */
  subject: string;
  scope: LimitScope;
  tier: string;
  name: string;
  algorithm: string;
  per: Period;
  used: number;
  /** The effective limit (adaptive limits may be below the configured one). */
  limit: number;
  remaining: number;
  /** Wall-clock epoch ms when the limit is whole again. */
  resetAt: number;
};

export function usageReport(
  limits: readonly CompiledLimit[],
  monotonicNow: number,
  wallNow: number,
): UsageReport[] {
  const reports: UsageReport[] = [];
  readCounters(limits, monotonicNow, wallNow, (limit, entry, outcome, capacity) => {
    reports.push({
      consumer: entry.consumer,
      subject: entry.subject,
      scope: limit.def.scope,
      tier: limit.tier,
      name: limit.name,
      algorithm: limit.def.algorithm,
      per: limit.def.per,
      used: Math.max(0, capacity - outcome.remaining),
      limit: limit.params.limit,
      remaining: outcome.remaining,
      resetAt: wallNow + outcome.resetMs,
    });
  });
  return reports;
}

type CounterVisitor = (
  limit: CompiledLimit,
  entry: CounterEntry,
  outcome: Readonly<Outcome>,
  capacity: number,
) => void;

/**
 * Reads every counter of `limits` with a check of cost 0, which brings it up to date with time
 * and counts nothing; `visit` gets the outcome (reused: read it before returning).
 */
export function readCounters(
  limits: readonly CompiledLimit[],
  monotonicNow: number,
  wallNow: number,
  visit: CounterVisitor,
): void {
  const outcome = newOutcome();
  for (const limit of limits) {
    const now = limit.limiter.usesWallClock ? wallNow : monotonicNow;
    const capacity = capacityOf(limit);
    for (const entry of limit.counters.entries.values()) {
      limit.limiter.check(entry.counter, now, 0, limit.params, outcome);
      visit(limit, entry, outcome, capacity);
    }
  }
}

/** How many units a whole limit holds at once. */
function capacityOf(limit: CompiledLimit): number {
  const { algorithm } = limit.def;
  if (algorithm === 'token-bucket') return limit.params.limit + limit.params.burst;
  if (algorithm === 'gcra' || algorithm === 'leaky-bucket') return limit.params.burst + 1;
  return limit.params.limit;
}
