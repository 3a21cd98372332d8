/**
 * GCRA, the generic cell rate algorithm: the leaky bucket as a meter, which is how NGINX's
 * `limit_req` behaves with `nodelay`. Requests are spaced one emission interval
 * (`period / limit`) apart; `burst` is the excess NGINX allows, so `burst + 1` requests may
 * arrive back to back. The counter holds the theoretical arrival time (TAT) of the next
 * request; zero means "no debt", so a fresh counter is an empty bucket.
 */

import type { Limiter } from './types.ts';
import { NEVER_MS } from './types.ts';

export const gcra: Limiter = {
  usesWallClock: false,

  check(counter, now, cost, params, out) {
    const interval = params.periodMs / params.limit;
    const tolerance = (params.burst + 1) * interval;
    const tat = Math.max(counter.level, now);
    const nextTat = tat + cost * interval;

    out.allowed = nextTat - now <= tolerance;
    const debt = (out.allowed ? nextTat : tat) - now;
    // Float error at exact multiples must not steal a request, hence the small epsilon.
    out.remaining = Math.max(0, Math.floor((tolerance - debt) / interval + 1e-9));
    out.resetMs = Math.ceil(debt);
    out.retryAfterMs = out.allowed
      ? 0
      : cost * interval > tolerance
        ? NEVER_MS
        : Math.ceil(nextTat - now - tolerance);
  },

  commit(counter, now, cost, params) {
    const interval = params.periodMs / params.limit;
    counter.level = Math.max(counter.level, now) + cost * interval;
    counter.version++;
  },
};
