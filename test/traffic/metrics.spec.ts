import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Metrics, SERIES_SECONDS } from '../../proxy-core/traffic/metrics.ts';
import type { LogRecord } from '../../proxy-core/traffic/log-record.ts';
import { RequestLog } from '../../proxy-core/traffic/request-log.ts';
import { ALLOWED, RATE_LIMITED, exchange } from './exchange-records.ts';

describe('traffic metrics', () => {
  it('counts per consumer, tier, route and total, with status classes and 401/403/429', () => {
    const log = new RequestLog();
    const metrics = new Metrics();
    log.subscribe(metrics.observe);

    for (let i = 0; i < 6; i++) log.completed(exchange({ annotations: ALLOWED, status: 200 }));
    for (let i = 0; i < 3; i++) log.completed(exchange({ annotations: RATE_LIMITED, status: 429 }));
    const bob = { ...ALLOWED, consumer: 'bob', tier: 'pro' };
    log.completed(exchange({ annotations: { ...bob, decision: 'refused' }, status: 403 }));
    log.completed(exchange({ annotations: { decision: 'refused', api: 'weather' }, status: 401 }));
    log.completed(exchange({ status: 502 }));
    log.flush();

    const snapshot = metrics.snapshot();
    assert.equal(snapshot.total.count, 12);
    assert.deepEqual(snapshot.total.statusClasses, {
      '1xx': 0,
      '2xx': 6,
      '3xx': 0,
      '4xx': 5,
      '5xx': 1,
    });
    assert.equal(snapshot.total.status401, 1);
    assert.equal(snapshot.total.status403, 1);
    assert.equal(snapshot.total.status429, 3);
    assert.equal(snapshot.total.refused, 5);
    assert.equal(snapshot.byConsumer.alice?.count, 9);
    assert.equal(snapshot.byConsumer.alice?.status429, 3);
    assert.equal(snapshot.byConsumer.bob?.status403, 1);
    assert.equal(snapshot.byTier.pro?.count, 1);
    assert.equal(snapshot.byRoute['weather.forecast']?.count, 10);
  });

  it('reports latency percentiles from the histogram', () => {
    const metrics = new Metrics();
    const log = new RequestLog();
    log.subscribe(metrics.observe);
    // 1..100 ms: p50 ≈ 50, p95 ≈ 95, p99 ≈ 99 within the histogram's 1% precision.
    for (let ms = 1; ms <= 100; ms++) log.completed(exchange({ totalMs: ms }));
    log.flush();

    const { latencyMs } = metrics.snapshot().total;
    assert.ok(Math.abs(latencyMs.p50 - 50) <= 1, `p50 ${latencyMs.p50}`);
    assert.ok(Math.abs(latencyMs.p95 - 95) <= 1, `p95 ${latencyMs.p95}`);
    assert.ok(Math.abs(latencyMs.p99 - 99) <= 1.5, `p99 ${latencyMs.p99}`);
    assert.ok(latencyMs.max >= 99 && latencyMs.max <= 101, `max ${latencyMs.max}`);
  });

  it('keeps a per-second series of the last 15 minutes', () => {
    let now = Date.UTC(2026, 0, 1, 12, 0, 0);
    const metrics = new Metrics({ now: () => now });
    const log = new RequestLog();
    log.subscribe(metrics.observe);

    log.completed(exchange({ status: 200 }));
    log.completed(exchange({ annotations: RATE_LIMITED, status: 429 }));
    // Metrics count an exchange in the second the log records it.
    log.flush();
    now += 3_000;
    log.completed(exchange({ status: 500 }));
    log.flush();

    const series = metrics.series();
    assert.equal(series.length, SERIES_SECONDS);
    const last = series.at(-1)!;
    const third = series.at(-4)!;
    assert.deepEqual(last, { t: now / 1000, count: 1, errors: 1, status429: 0, refused: 0 });
    assert.deepEqual(third, { t: now / 1000 - 3, count: 2, errors: 1, status429: 1, refused: 1 });

    // Sixteen minutes later the old seconds have left the window.
    now += 16 * 60_000;
    assert.equal(
      metrics.series().reduce((sum, p) => sum + p.count, 0),
      0,
    );
  });

  it('includes quota usage from the engine when one is attached', () => {
    const metrics = new Metrics({ usage: () => [{ consumer: 'alice', used: 3, limit: 10 }] });
    assert.deepEqual(metrics.snapshot().quotas, [{ consumer: 'alice', used: 3, limit: 10 }]);
  });

  it('starts from zero after a reset and counts nothing once closed', () => {
    const metrics = new Metrics();
    const log = new RequestLog();
    log.subscribe(metrics.observe);
    let lastRecord: LogRecord | undefined;
    log.subscribe((record) => (lastRecord = record));
    for (let ms = 1; ms <= 10; ms++) log.completed(exchange({ annotations: ALLOWED, totalMs: ms }));
    log.flush();

    metrics.reset();
    log.completed(exchange({ annotations: ALLOWED, totalMs: 40 }));
    log.flush();
    const afterReset = metrics.snapshot();
    assert.equal(afterReset.total.count, 1);
    // Only the one exchange after the reset: every percentile is its 40 ms (1% precision).
    assert.ok(Math.abs(afterReset.total.latencyMs.p50 - 40) <= 0.5);
    assert.ok(Math.abs(afterReset.total.latencyMs.max - 40) <= 0.5);
    assert.equal(afterReset.byConsumer.alice?.count, 1);

    metrics.close();
    metrics.close();
    metrics.reset();
    assert.doesNotThrow(() => metrics.observe(lastRecord!));
  });
});
