import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Counter,
  limiterFor,
  newOutcome,
  PERIOD_MS,
  type LimitParams,
} from '../../proxy-core/policies/limiters/index.ts';
import type { Algorithm, Period } from '../../proxy-core/policies/schema.ts';

/** One step of a table: at `t` ms, try `n` requests of `cost`; expect `admitted` of them. */
interface Step {
  t: number;
  n: number;
  admitted: number;
  /** Retry-After of the first refused request, when one is refused. */
  retryAfterMs?: number;
  /** Remaining reported after the last request of the step. */
  remaining?: number;
  cost?: number;
}

function params(limit: number, per: Period, burst = 0, timeZone = 'UTC'): LimitParams {
  return { limit, periodMs: PERIOD_MS[per], burst, per, timeZone };
}

/** Runs a table against a fresh counter; time starts at a window boundary (`base`). */
function runTable(algorithm: Algorithm, p: LimitParams, steps: Step[], base = 600_000_000) {
  const limiter = limiterFor(algorithm);
  const counter = new Counter();
  const out = newOutcome();

  for (const step of steps) {
    let admitted = 0;
    let firstRetry: number | undefined;
    for (let i = 0; i < step.n; i++) {
      limiter.check(counter, base + step.t, step.cost ?? 1, p, out);
      if (out.allowed) {
        limiter.commit(counter, base + step.t, step.cost ?? 1, p);
        admitted++;
      } else {
        firstRetry ??= out.retryAfterMs;
      }
      assert.ok(out.remaining >= 0, 'remaining is never negative');
    }
    const at = `${algorithm} at t=${step.t}`;
    assert.equal(admitted, step.admitted, `${at}: admitted`);
    if (step.retryAfterMs !== undefined)
      assert.equal(firstRetry, step.retryAfterMs, `${at}: retry`);
    if (step.remaining !== undefined)
      assert.equal(out.remaining, step.remaining, `${at}: remaining`);
  }
}

describe('fixed window', () => {
  it('admits the limit per window and refills exactly at the edge', () => {
    runTable('fixed-window', params(5, 'minute'), [
      { t: 0, n: 1, admitted: 1, remaining: 4 },
      { t: 10_000, n: 6, admitted: 4, retryAfterMs: 50_000, remaining: 0 },
      { t: 59_999, n: 1, admitted: 0, retryAfterMs: 1 },
      { t: 60_000, n: 6, admitted: 5, retryAfterMs: 60_000 },
    ]);
  });

  it('lets a client spend two whole limits across a boundary (the double burst)', () => {
    runTable('fixed-window', params(5, 'minute'), [
      { t: 59_000, n: 5, admitted: 5 },
      { t: 60_000, n: 5, admitted: 5 },
      { t: 60_001, n: 1, admitted: 0 },
    ]);
  });

  it('counts the cost of a request, and a cost above the limit never fits', () => {
    runTable('fixed-window', params(25, 'minute'), [
      { t: 0, n: 3, cost: 10, admitted: 2, remaining: 5 },
      { t: 60_000, n: 1, cost: 26, admitted: 0, retryAfterMs: Number.MAX_SAFE_INTEGER },
    ]);
  });
});

describe('sliding window (counter approximation)', () => {
  it('weights the previous window, so the boundary double burst is refused', () => {
    runTable('sliding-window', params(5, 'minute'), [
      { t: 59_000, n: 5, admitted: 5 },
      // At 60 s the previous window still weighs 100 %: 5 used, nothing fits for 12 s.
      { t: 60_000, n: 1, admitted: 0, retryAfterMs: 12_000 },
      { t: 71_999, n: 1, admitted: 0 },
      // At 72 s the previous count weighs 48/60 = 4 units: exactly one fits.
      { t: 72_000, n: 2, admitted: 1 },
      { t: 120_000, n: 5, admitted: 4 },
      { t: 180_000, n: 5, admitted: 1 },
      // Two idle windows later nothing of the past remains.
      { t: 300_000, n: 6, admitted: 5, remaining: 0 },
    ]);
  });

  it('admits exactly the limit within a window', () => {
    runTable('sliding-window', params(100, 'second'), [
      { t: 0, n: 150, admitted: 100, remaining: 0 },
      { t: 999, n: 1, admitted: 0 },
    ]);
  });
});

describe('token bucket', () => {
  it('holds requests + burst tokens and refills at requests per period', () => {
    runTable('token-bucket', params(10, 'second', 5), [
      { t: 0, n: 16, admitted: 15, retryAfterMs: 100, remaining: 0 },
      { t: 99, n: 1, admitted: 0, retryAfterMs: 1 },
      { t: 100, n: 2, admitted: 1 },
      // 1.5 s later the bucket is full again, not fuller.
      { t: 1_600, n: 20, admitted: 15 },
    ]);
  });

  it('reports remaining tokens after each request', () => {
    runTable('token-bucket', params(100, 'minute', 20), [
      { t: 0, n: 1, admitted: 1, remaining: 119 },
      { t: 0, n: 119, admitted: 119, remaining: 0 },
      { t: 600, n: 1, admitted: 1, remaining: 0 },
    ]);
  });
});

describe('GCRA / leaky bucket', () => {
  for (const algorithm of ['gcra', 'leaky-bucket'] as const) {
    it(`${algorithm}: spaces requests by period/limit, with burst as NGINX's excess`, () => {
      runTable(algorithm, params(10, 'second', 2), [
        { t: 0, n: 1, admitted: 1, remaining: 2 },
        { t: 0, n: 3, admitted: 2, retryAfterMs: 100, remaining: 0 },
        { t: 99, n: 1, admitted: 0, retryAfterMs: 1 },
        { t: 100, n: 2, admitted: 1, retryAfterMs: 100 },
        { t: 1_000, n: 5, admitted: 3 },
      ]);
    });
  }

  it('without burst admits one request per interval', () => {
    runTable('gcra', params(5, 'minute'), [
      { t: 0, n: 2, admitted: 1, retryAfterMs: 12_000 },
      { t: 12_000, n: 2, admitted: 1 },
    ]);
  });
});

describe('calendar quota', () => {
  const at = (iso: string) => Date.parse(iso);

  function quota(timeZone: string, per: Period, limit = 3) {
    const limiter = limiterFor('calendar');
    const counter = new Counter();
    const out = newOutcome();
    const p = params(limit, per, 0, timeZone);
    return {
      counter,
      take(iso: string) {
        limiter.check(counter, at(iso), 1, p, out);
        if (out.allowed) limiter.commit(counter, at(iso), 1, p);
        return { ...out };
      },
    };
  }

  it('resets at midnight UTC', () => {
    const q = quota('UTC', 'day');
    for (let i = 0; i < 3; i++) assert.equal(q.take('2026-01-01T23:59:00Z').allowed, true);
    const refused = q.take('2026-01-01T23:59:00Z');
    assert.equal(refused.allowed, false);
    assert.equal(refused.retryAfterMs, 60_000);
    assert.equal(q.counter.resetAt, at('2026-01-02T00:00:00Z'));
    assert.equal(q.take('2026-01-02T00:00:00Z').allowed, true);
  });

  it('resets at local midnight in another zone, across a DST change', () => {
    const tokyo = quota('Asia/Tokyo', 'day');
    tokyo.take('2026-01-01T10:00:00Z');
    assert.equal(tokyo.counter.resetAt, at('2026-01-01T15:00:00Z'));

    const paris = quota('Europe/Paris', 'day', 1);
    paris.take('2026-03-29T12:00:00Z');
    assert.equal(paris.counter.resetAt, at('2026-03-29T22:00:00Z'), 'CEST: UTC+2');
    assert.equal(paris.take('2026-03-29T21:59:59Z').allowed, false);
    assert.equal(paris.take('2026-03-29T22:00:00Z').allowed, true);
  });

  it('resets weekly on Monday and monthly on the 1st', () => {
    const week = quota('UTC', 'week');
    week.take('2026-01-01T12:00:00Z');
    assert.equal(week.counter.resetAt, at('2026-01-05T00:00:00Z'));

    const month = quota('America/New_York', 'month');
    month.take('2026-12-31T12:00:00Z');
    assert.equal(month.counter.resetAt, at('2027-01-01T05:00:00Z'));
  });
});
