/**
 * Fixed window: counts per aligned window (`floor(now / period)`). Simple and what many
 * gateways use, with the known flaw that a client can spend a whole limit at the end of one
 * window and again at the start of the next (tested as the "double burst").
 */

import type { Counter, LimitParams, Limiter } from './types.ts';
import { NEVER_MS } from './types.ts';

export const fixedWindow: Limiter = {
  usesWallClock: false,

  check(counter, now, cost, params, out) {
    roll(counter, now, params);
    const resetMs = counter.windowStart + params.periodMs - now;
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
  const start = now - (now % params.periodMs);
  if (start !== counter.windowStart) {
    counter.windowStart = start;
    counter.count = 0;
  }
}
