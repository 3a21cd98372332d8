/**
 * Sliding window, by the counter approximation (as Cloudflare and Kong's "sliding" strategy
 * do): the previous fixed window's count, weighted by how much of it still overlaps the last
 * `period`, plus the current window's count. Chosen over a request log because it keeps two
 * numbers per subject instead of one timestamp per request (limits of 100,000/hour would
 * otherwise hold 100,000 entries each) and checks in constant time with no allocation. It
 * assumes the previous window's requests were spread evenly, so it can err either way by at
 * most that window's unevenness; it never admits more than `limit` within one aligned window.
 */

import type { Counter, LimitParams, Limiter } from './types.ts';
import { NEVER_MS } from './types.ts';

export const slidingWindow: Limiter = {
  usesWallClock: false,

  check(counter, now, cost, params, out) {
    roll(counter, now, params);
    const period = params.periodMs;
    const elapsed = now - counter.windowStart;
    const used = counter.previous * ((period - elapsed) / period) + counter.count;

    out.allowed = used + cost <= params.limit;
    out.remaining = Math.max(0, Math.floor(params.limit - used - (out.allowed ? cost : 0)));
    // Whole again once the previous window has slid out and the current one has too.
    out.resetMs =
      counter.count > 0 ? 2 * period - elapsed : counter.previous > 0 ? period - elapsed : 0;
    out.retryAfterMs = out.allowed ? 0 : waitFor(counter, elapsed, cost, params);
  },

  commit(counter, now, cost, params) {
    roll(counter, now, params);
    counter.count += cost;
    counter.version++;
  },
};

/** Time until `used + cost <= limit`, as the previous window's weight decays linearly. */
function waitFor(counter: Counter, elapsed: number, cost: number, params: LimitParams): number {
  const { limit, periodMs: period } = params;
  if (cost > limit) return NEVER_MS;

  if (counter.count + cost <= limit && counter.previous > 0) {
    const weightWanted = (limit - counter.count - cost) / counter.previous;
    return Math.max(0, Math.ceil(period * (1 - weightWanted) - elapsed));
  }

  // Not within this window: wait for it to end, then for its count to decay enough.
  const untilEnd = period - elapsed;
  const nextWeight = counter.count > 0 ? (limit - cost) / counter.count : 1;
  return Math.ceil(untilEnd + Math.max(0, period * (1 - nextWeight)));
}

function roll(counter: Counter, now: number, params: LimitParams): void {
  const start = now - (now % params.periodMs);
  if (start === counter.windowStart) return;

  const adjacent = start - counter.windowStart === params.periodMs;
  counter.previous = adjacent ? counter.count : 0;
  counter.count = 0;
  counter.windowStart = start;
}
