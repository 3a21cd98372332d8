/**
 * What every limiter shares. A limiter is a pair of pure functions over a `Counter`: `check`
 * says whether `cost` units fit now (bringing the counter up to date with time, which consumes
 * nothing), and `commit` consumes them. The engine checks every limit of a request before it
 * commits any, so a request refused by its second limit leaves the first untouched.
 *
 * Hot path: counters and outcomes are long-lived objects written in place; nothing here
 * allocates per request.
 */

import type { Period } from '../schema.ts';

/** Algorithm state of one limit for one subject. Field meaning depends on the algorithm. */
export class Counter {
  /** Start of the current window (fixed, sliding, calendar: its start on the wall clock). */
  windowStart = 0;
  /** Units counted in the current window. */
  count = 0;
  /** Units counted in the previous window (sliding window). */
  previous = 0;
  /** Token bucket: units missing from a full bucket; GCRA: theoretical arrival time. */
  level = 0;
  /** Last time the level was brought up to date (token bucket). */
  levelAt = 0;
  /** Calendar quotas: wall-clock epoch ms of the next reset. */
  resetAt = 0;
  /** Bumped on every commit, so persistence can tell what changed. */
  version = 0;
}

export interface LimitParams {
  /** Units per period, after adaptive tightening. */
  limit: number;
  periodMs: number;
  burst: number;
  per: Period;
  timeZone: string;
}

/** Written in place by `check`. */
export interface Outcome {
  allowed: boolean;
  /** Units left after this request (if allowed), never negative. */
  remaining: number;
  /** Milliseconds until the limit is whole again (window end, full bucket). */
  resetMs: number;
  /** Milliseconds until this request would fit; 0 when allowed. */
  retryAfterMs: number;
}

export interface Limiter {
  /** `now` is monotonic ms for rates, wall ms for calendar quotas (see `usesWallClock`). */
  check(counter: Counter, now: number, cost: number, params: LimitParams, out: Outcome): void;
  commit(counter: Counter, now: number, cost: number, params: LimitParams): void;
  readonly usesWallClock: boolean;
}

export function newOutcome(): Outcome {
  return { allowed: false, remaining: 0, resetMs: 0, retryAfterMs: 0 };
}

/** A cost above the whole limit can never fit; say so with the longest honest wait. */
export const NEVER_MS = Number.MAX_SAFE_INTEGER;
