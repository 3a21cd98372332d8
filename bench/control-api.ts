/**
 * Figures for the request log and the control API, measured in-process (no proxy): the cost of
 * recording an exchange (log + metrics + alerts, batched as the proxy does), RSS after 50,000
 * exchanges into the default 10,000-entry log, and status / 100-entry log query latency with a
 * full log.
 * The bench harness runs the same latency probe against a loaded proxy (control-probe.ts).
 *
 * Usage: node --import tsx bench/control-api.ts [--exchanges 50000] [--samples 2000]
 * Prints one JSON line.
 */

import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createControlClient } from '../proxy-core/control/client.ts';
import { startControlApi } from '../proxy-core/control/server.ts';
import type { ExchangeRecord } from '../proxy-core/server/exchange.ts';
import { RequestLog } from '../proxy-core/traffic/request-log.ts';

/** A realistic exchange: key header, query, small JSON bodies both ways. */
export function sampleExchange(i: number): ExchangeRecord {
  return {
    request: {
      id: String(i),
      startedAt: Date.now(),
      clientAddress: '127.0.0.1',
      scheme: 'https',
      method: 'GET',
      host: 'api.weather.test',
      port: 443,
      path: `/v1/forecast/city-${i}?api_key=bench-key-0123456789&units=metric`,
      headers: {
        host: 'api.weather.test',
        'user-agent': 'bench/1.0',
        'x-api-key': 'bench-key-0123456789',
        accept: 'application/json',
      },
      rawHeaders: [
        ...['Host', 'api.weather.test', 'User-Agent', 'bench/1.0'],
        ...['X-Api-Key', 'bench-key-0123456789', 'Accept', 'application/json'],
      ],
    },
    annotations: {
      decision: i % 10 === 0 ? 'refused' : 'allowed',
      api: 'weather',
      route: 'read',
      consumer: `consumer-${i % 50}`,
      tier: i % 2 ? 'free' : 'pro',
      ...(i % 10 === 0 ? { reason: 'RATE_LIMITED' as const, limit: 'free-minute' } : {}),
      limits: [
        { name: 'free-minute', limit: 100, remaining: 42, resetSeconds: 30, algorithm: 'gcra' },
      ],
    },
    status: i % 10 === 0 ? 429 : 200,
    responseHeaders: ['Content-Type', 'application/json', 'Content-Length', '64'],
    requestBytes: 0,
    responseBytes: 64,
    timings: { total: 2 + (i % 17), upstream: 1 + (i % 17) },
    responseBody: { bytes: Buffer.from(`{"city":${i},"temp":21,"unit":"C"}`), truncated: false },
  };
}

/** Nanoseconds per exchange recorded, with the control API's metrics and alerts subscribed. */
export async function measureCompletedHook(exchanges: number) {
  const requestLog = new RequestLog();
  const api = await startControlApi({ port: 0, requestLog });
  const records = Array.from({ length: Math.min(exchanges, 10_000) }, (_, i) => sampleExchange(i));

  // The log queues what finishes in one turn of the event loop and records it at the turn's
  // end; under load a turn brings a few dozen exchanges, so they are recorded 32 at a time.
  const feed = (count: number) => {
    for (let i = 0; i < count; i++) {
      requestLog.completed(records[i % records.length]!);
      if (i % 32 === 31) requestLog.flush();
    }
    requestLog.flush();
  };

  // Untimed warm-up: with --quick's few exchanges the figure was mostly the JIT compiling.
  feed(5_000);
  const rssBefore = process.memoryUsage().rss;
  const started = performance.now();
  feed(exchanges);
  const elapsedMs = performance.now() - started;
  globalThis.gc?.();
  const rssAfter = process.memoryUsage().rss;

  await api.close();
  return {
    exchanges,
    nsPerCompleted: Math.round((elapsedMs * 1e6) / exchanges),
    logSize: requestLog.size,
    rssGrowthMb: Math.round((rssAfter - rssBefore) / 1e5) / 10,
  };
}

/** p50/p99 of `GET /api/status` and `GET /api/log?limit=100` with a full 10,000-entry log. */
export async function measureControlLatency(samples: number) {
  const requestLog = new RequestLog();
  for (let i = 0; i < requestLog.capacity; i++) requestLog.completed(sampleExchange(i));
  requestLog.flush();
  const api = await startControlApi({ port: 0, requestLog });
  const client = createControlClient({ baseUrl: api.url, token: api.token });

  const status: number[] = [];
  const log: number[] = [];
  for (let i = 0; i < samples; i++) {
    let t = performance.now();
    await client.status();
    status.push(performance.now() - t);
    t = performance.now();
    await client.log.query({ limit: 100 });
    log.push(performance.now() - t);
  }
  await api.close();
  return {
    statusP50Ms: percentile(status, 50),
    statusP99Ms: percentile(status, 99),
    logP50Ms: percentile(log, 50),
    logP99Ms: percentile(log, 99),
  };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const value = sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
  return Math.round(value * 1000) / 1000;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      exchanges: { type: 'string', default: '50000' },
      samples: { type: 'string', default: '2000' },
    },
  });
  const hook = await measureCompletedHook(Number(values.exchanges));
  const latency = await measureControlLatency(Number(values.samples));
  process.stdout.write(JSON.stringify({ ...hook, ...latency }) + '\n');
}
