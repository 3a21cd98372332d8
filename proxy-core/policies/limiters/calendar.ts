/**
 * Calendar quota: a count that resets at the next day, week (Monday) or month boundary in the
 * policy's time zone, as AWS usage plans count. It runs on the wall clock (plus the virtual
 * offset) and keeps its reset instant in the counter, so a restart keeps both count and reset.
 */

import { nextCalendarBoundary } from '../calendar-time.ts';
import type { Limiter } from './types.ts';
import { windowCounter } from './window-counter.ts';

export const calendarQuota: Limiter = windowCounter({
  usesWallClock: true,
  roll(counter, now, params) {
    if (counter.resetAt !== 0 && now < counter.resetAt) return;
    counter.count = 0;
    counter.windowStart = now;
    counter.resetAt = nextCalendarBoundary(now, params.per, params.timeZone);
  },
  windowEnd: (counter) => counter.resetAt,
});
