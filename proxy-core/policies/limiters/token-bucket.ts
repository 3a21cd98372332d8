/**
 * Token bucket: holds `limit + burst` tokens, refills at `limit` per period, and a request
 * takes `cost` tokens. The counter stores the tokens *missing* (so a fresh, all-zero counter is
 * a full bucket) and when that was last brought up to date.
 */

import type { Counter, LimitParams, Limiter } from './types.ts';
import { NEVER_MS } from './types.ts';

export const tokenBucket: Limiter = {
  usesWallClock: false,

  check(counter, now, cost, params, out) {
    refill(counter, now, params);
    const capacity = params.limit + params.burst;
    const perMs = params.limit / params.periodMs;
    const tokens = capacity - counter.level;

    out.allowed = tokens >= cost;
    const left = out.allowed ? tokens - cost : tokens;
    out.remaining = Math.max(0, Math.floor(left));
    out.resetMs = Math.ceil((capacity - left) / perMs);
    out.retryAfterMs = out.allowed
      ? 0
      : cost > capacity
        ? NEVER_MS
        : Math.ceil((cost - tokens) / perMs);
  },

  commit(counter, now, cost, params) {
    refill(counter, now, params);
    counter.level += cost;
    counter.version++;
  },
};

function refill(counter: Counter, now: number, params: LimitParams): void {
  const elapsed = now - counter.levelAt;
  counter.levelAt = now;
  if (elapsed <= 0 || counter.level === 0) return;

  const refilled = elapsed * (params.limit / params.periodMs);
  counter.level = Math.max(0, counter.level - refilled);
  // A bucket that shrank (adaptive limit) cannot owe more than it holds.
  counter.level = Math.min(counter.level, params.limit + params.burst);
}
