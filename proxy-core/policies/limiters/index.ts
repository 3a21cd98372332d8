import type { Algorithm, Period } from '../schema.ts';
import { calendarQuota } from './calendar.ts';
import { fixedWindow } from './fixed-window.ts';
import { gcra } from './gcra.ts';
import { slidingWindow } from './sliding-window.ts';
import { tokenBucket } from './token-bucket.ts';
import type { Limiter } from './types.ts';

export { Counter, newOutcome, NEVER_MS } from './types.ts';
export type { LimitParams, Limiter, Outcome } from './types.ts';

const LIMITERS: Record<Algorithm, Limiter> = {
  'fixed-window': fixedWindow,
  'sliding-window': slidingWindow,
  'token-bucket': tokenBucket,
  gcra,
  // The leaky bucket as a meter is GCRA; NGINX's limit_req (burst, nodelay) behaves the same.
  'leaky-bucket': gcra,
  calendar: calendarQuota,
};

export function limiterFor(algorithm: Algorithm): Limiter {
  return LIMITERS[algorithm];
}

/**
 * Length of a period for the rate algorithms. Month is 30 days there: a "fixed window per
 * month" has no calendar meaning; use the calendar algorithm for real months.
 */
export const PERIOD_MS: Record<Period, number> = {
  second: 1000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 604_800_000,
  month: 2_592_000_000,
};
