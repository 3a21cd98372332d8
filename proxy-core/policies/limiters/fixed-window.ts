/**
 * Fixed window: counts per aligned window (`floor(now / period)`). Simple and what many
 * gateways use, with the known flaw that a client can spend a whole limit at the end of one
 * window and again at the start of the next (tested as the "double burst").
 */

import type { Limiter } from './types.ts';
import { windowCounter } from './window-counter.ts';

export const fixedWindow: Limiter = windowCounter({
  usesWallClock: false,
  roll(counter, now, params) {
    const start = now - (now % params.periodMs);
    if (start !== counter.windowStart) {
      counter.windowStart = start;
      counter.count = 0;
    }
  },
  windowEnd: (counter, params) => counter.windowStart + params.periodMs,
});
