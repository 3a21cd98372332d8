/**
 * Counting one request against every limit of its tier that covers its route.
 *
 * Guarantee: all limits are checked before any is committed, and check and commit run in one
 * synchronous stretch, so concurrent requests cannot over-admit and a request refused by its
 * second limit consumes nothing from the first.
 */

import type { LimitState } from '../contract/traffic.ts';
import type { CompiledLimit, CompiledRoute, CompiledTier } from './compile.ts';
import { subjectOf, type CounterEntry, type UsageSync } from './counters.ts';
import { NEVER_MS, newOutcome, type Outcome } from './limiters/index.ts';
import { policyItem } from './rate-headers.ts';

export interface LimitVerdict {
  allowed: boolean;
  /** The limit that refused (the longest wait when several did). */
  refusedBy: CompiledLimit | undefined;
  retryAfterMs: number;
  /** The limits that counted this request, in the tier's order. */
  applied: readonly CompiledLimit[];
  /** Where each applied limit stands after the request, in the same order. */
  states: LimitState[];
}

export interface LimitClock {
  monotonic: number;
  wall: number;
}

const NO_LIMITS: readonly CompiledLimit[] = Object.freeze([]);

/** Reused across requests: the engine is single-threaded and finishes one before the next. */
const outcomes: Outcome[] = [];
const entries: CounterEntry[] = [];

/**
 * With `charge` false the limits are only read (a request refused before counting, such as a
 * 403, still shows the consumer where they stand): nothing is committed.
 */
export function applyLimits(
  tier: CompiledTier,
  route: CompiledRoute,
  consumer: string,
  clientAddress: string,
  clock: LimitClock,
  sync: UsageSync,
  charge = true,
): LimitVerdict {
  const applied = tier.limitsByRoute.get(route.key) ?? NO_LIMITS;
  let refusedBy: CompiledLimit | undefined;
  let retryAfterMs = 0;

  for (let i = 0; i < applied.length; i++) {
    const limit = applied[i]!;
    outcomes[i] ??= newOutcome();
    const subject = subjectOf(limit.def.scope, consumer, route.key, clientAddress);
    entries[i] = limit.counters.entry(subject);

    const now = limit.limiter.usesWallClock ? clock.wall : clock.monotonic;
    limit.limiter.check(entries[i]!.counter, now, route.cost, limit.params, outcomes[i]!);
    if (!outcomes[i]!.allowed && outcomes[i]!.retryAfterMs >= retryAfterMs) {
      refusedBy = limit;
      retryAfterMs = outcomes[i]!.retryAfterMs;
    }
  }

  const charged = refusedBy === undefined && charge;
  if (charged) {
    for (let i = 0; i < applied.length; i++) {
      const limit = applied[i]!;
      const now = limit.limiter.usesWallClock ? clock.wall : clock.monotonic;
      limit.limiter.commit(entries[i]!.counter, now, route.cost, limit.params);
      sync.markDirty(entries[i]!);
    }
  }

  const states: LimitState[] = new Array(applied.length);
  for (let i = 0; i < applied.length; i++) {
    const limit = applied[i]!;
    const outcome = outcomes[i]!;
    states[i] = {
      name: limit.name,
      limit: limit.params.limit,
      remaining: charged ? outcome.remaining : remainingUncharged(outcome, route.cost),
      resetSeconds: Math.ceil(outcome.resetMs / 1000),
      resetAt: clock.wall + outcome.resetMs,
      algorithm: limit.def.algorithm,
    };
    if (limit.policyItem?.limit !== limit.params.limit) {
      const windowSeconds = limit.params.periodMs / 1000;
      limit.policyItem = policyItem(limit.name, limit.params.limit, windowSeconds);
    }
  }

  return { allowed: refusedBy === undefined, refusedBy, retryAfterMs, applied, states };
}

/**
 * When another limit refused, this one was not charged, yet an allowing outcome says what is
 * left after the charge; add the cost back.
 */
function remainingUncharged(outcome: Outcome, cost: number): number {
  return outcome.allowed ? outcome.remaining + cost : outcome.remaining;
}

export function retryAfterSeconds(ms: number): number | null {
  return ms >= NEVER_MS ? null : Math.max(1, Math.ceil(ms / 1000));
}
