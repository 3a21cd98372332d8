/**
 * Calendar quota: a count that resets at the next day, week (Monday) or month boundary in the
 * policy's time zone, as AWS usage plans count. It runs on the wall clock (plus the virtual
 * offset) and keeps its reset instant in the counter, so a restart keeps both count and reset.
 */

import { nextCalendarBoundary } from '../calendar-time.ts';
import type { Counter, LimitParams, Limiter } from './types.ts';
import { NEVER_MS } from './types.ts';

export const calendarQuota: Limiter = {
  usesWallClock: true,

  check(counter, now, cost, params, out) {
    roll(counter, now, params);
    const resetMs = counter.resetAt - now;
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

function roll(counter: Counter, now: number, params: LimitParams): void {
  if (counter.resetAt !== 0 && now < counter.resetAt) return;
  counter.count = 0;
  counter.windowStart = now;
  counter.resetAt = nextCalendarBoundary(now, params.per, params.timeZone);
}
