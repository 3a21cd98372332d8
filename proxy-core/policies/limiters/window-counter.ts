/**
 * A count that starts again when its window ends. Fixed windows and calendar quotas differ only
 * in where a window ends and which clock they read, so both are built here.
 */

import type { Counter, LimitParams, Limiter } from './types.ts';
import { NEVER_MS } from './types.ts';

export interface WindowRules {
  usesWallClock: boolean;
  /** Starts a new window in `counter` when `now` is past the current one. */
  roll(counter: Counter, now: number, params: LimitParams): void;
  /** When the counter's current window ends, in the same clock as `now`. */
  windowEnd(counter: Counter, params: LimitParams): number;
}

export function windowCounter(rules: WindowRules): Limiter {
  const { roll, windowEnd } = rules;

  return {
    usesWallClock: rules.usesWallClock,

    check(counter, now, cost, params, out) {
      roll(counter, now, params);
      const resetMs = windowEnd(counter, params) - now;
      out.allowed = counter.count + cost <= params.limit;
      out.remaining = Math.max(0, params.limit - counter.count - (out.allowed ? cost : 0));
      out.resetMs = resetMs;
      out.retryAfterMs = out.allowed ? 0 : cost > params.limit ? NEVER_MS : resetMs;
    },

    commit(counter, now, cost, params) {
      roll(counter, now, params);
      counter.count += cost;
      counter.version++;
    },
  };
}
