/**
 * The HTTPS load generator, in its own process. wrk cannot speak CONNECT, so every row of the
 * HTTPS table (direct included) is driven by this one client, which keeps the comparison fair:
 * an undici Pool of N keep-alive connections, N requests in flight, each connection opened
 * through `tunnel.ts` when a proxy is given. Latency goes into an HDR histogram.
 *
 * Usage: node --import tsx bench/load.ts --url URL [--proxy-port P] [--ca FILE]
 *          [--connections 50] [--seconds 10] [--warmup 2] [--path P] [--header 'name: value']
 *          [--requests N]
 * With an http:// URL and an absolute-URI --path it drives a forward proxy in plain HTTP. With
 * --requests it sends exactly N requests (no warm-up) instead of running for a time.
 * Prints one JSON line: { requests, errors, seconds, rps, p50Ms, p99Ms, firstError? }.
 */

import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import * as hdr from 'hdr-histogram-js';
import { Pool } from 'undici';
import { MEASURING_LINE } from './load-result.ts';
import { tunnelConnector } from './tunnel.ts';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    'proxy-port': { type: 'string' },
    ca: { type: 'string' },
    connections: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    path: { type: 'string', default: '/' },
    header: { type: 'string', multiple: true, default: [] },
    requests: { type: 'string' },
  },
});
if (!values.url) throw new Error('load: --url is required');
if (values.url.startsWith('https:') && !values.ca) throw new Error('load: https needs --ca');

const connections = Number(values.connections);
const ca = values.ca ? readFileSync(values.ca, 'utf8') : '';
const headers = Object.fromEntries(
  values.header!.map((line) => {
    const colon = line.indexOf(':');
    return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
  }),
);
const pool = new Pool(values.url, {
  connections,
  pipelining: 1,
  keepAliveTimeout: 120_000,
  connect: values['proxy-port']
    ? tunnelConnector({ proxyPort: Number(values['proxy-port']), ca })
    : { ca, rejectUnauthorized: true },
});

const histogram = hdr.build({
  lowestDiscernibleValue: 1,
  highestTrackableValue: 60_000_000,
  numberOfSignificantValueDigits: 3,
});

let recording = false;
let requests = 0;
let errors = 0;
let firstError: string | undefined;

async function worker(until: () => boolean): Promise<void> {
  while (!until()) {
    const started = performance.now();
    try {
      const { statusCode, body } = await pool.request({
        method: 'GET',
        path: values.path!,
        headers,
      });
      await body.arrayBuffer();
      if (statusCode !== 200) throw new Error(`status ${statusCode}`);
      if (recording) {
        requests++;
        histogram.recordValue(Math.round((performance.now() - started) * 1000));
      }
    } catch (error) {
      if (recording) errors++;
      firstError ??= (error as Error).message;
      // A failing target must not turn this loop into a busy spin.
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

async function phase(seconds: number): Promise<number> {
  const end = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: connections }, () => worker(() => performance.now() >= end)),
  );
  return (performance.now() - started) / 1000;
}

let seconds: number;
if (values.requests) {
  // A fixed count: each worker claims requests until all are claimed.
  let left = Number(values.requests);
  recording = true;
  const started = performance.now();
  await Promise.all(Array.from({ length: connections }, () => worker(() => left-- <= 0)));
  seconds = (performance.now() - started) / 1000;
} else {
  await phase(Number(values.warmup));
  process.stdout.write(MEASURING_LINE + '\n');
  recording = true;
  firstError = undefined;
  seconds = await phase(Number(values.seconds));
}
recording = false;
await pool.close();

const result = {
  requests,
  errors,
  seconds,
  rps: requests / seconds,
  p50Ms: histogram.getValueAtPercentile(50) / 1000,
  p99Ms: histogram.getValueAtPercentile(99) / 1000,
  ...(firstError ? { firstError } : {}),
};
process.stdout.write(JSON.stringify(result) + '\n');
