/**
 * Times Tollgate's control API as its UI would use it, in its own process: one keep-alive
 * connection, alternating `GET /api/status` and `GET /api/log?limit=100`, for a given time.
 * It finds the API through the control-token file in the data dir, as the CLI does.
 *
 * Usage: node --import tsx bench/control-probe.ts --data-dir DIR [--seconds 10]
 * Prints one JSON line: { statusP50Ms, statusP99Ms, logP50Ms, logP99Ms, samples, errors,
 * logEntries, logSize, logCapacity }, or `{"unavailable": "why"}`.
 */

import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { ControlEndpoint, LogQueryResult } from '../proxy-core/contract/control-api.ts';
import { CONTROL_ENDPOINT_FILE } from '../proxy-core/contract/control-api.ts';

const { values } = parseArgs({
  options: { 'data-dir': { type: 'string' }, seconds: { type: 'string', default: '10' } },
});
if (!values['data-dir']) throw new Error('control-probe: --data-dir is required');

const endpointFile = path.join(values['data-dir'], CONTROL_ENDPOINT_FILE);
if (!existsSync(endpointFile)) {
  const unavailable = `no ${CONTROL_ENDPOINT_FILE} in the data dir: the control API has not landed`;
  process.stdout.write(JSON.stringify({ unavailable }) + '\n');
  process.exit(0);
}

const endpoint = JSON.parse(readFileSync(endpointFile, 'utf8')) as ControlEndpoint;
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function get(route: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get(
      {
        host: '127.0.0.1',
        port: endpoint.port,
        path: route,
        agent,
        headers: { authorization: `Bearer ${endpoint.token}` },
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    request.setTimeout(10_000, () => request.destroy(new Error(`${route} timed out`)));
    request.once('error', reject);
  });
}

const status: number[] = [];
const log: number[] = [];
let errors = 0;
let firstError: string | undefined;
let last: LogQueryResult | undefined;

async function timed(route: string, into: number[]): Promise<string | undefined> {
  const started = performance.now();
  try {
    const answer = await get(route);
    if (answer.status !== 200)
      throw new Error(`${route}: ${answer.status} ${answer.body.slice(0, 200)}`);
    into.push(performance.now() - started);
    return answer.body;
  } catch (error) {
    errors++;
    firstError ??= (error as Error).message;
    return undefined;
  }
}

const end = performance.now() + Number(values.seconds) * 1000;
do {
  await timed('/api/status', status);
  const body = await timed('/api/log?limit=100', log);
  if (body) last = JSON.parse(body) as LogQueryResult;
} while (performance.now() < end);
agent.destroy();

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
};
const result = {
  statusP50Ms: percentile(status, 50),
  statusP99Ms: percentile(status, 99),
  logP50Ms: percentile(log, 50),
  logP99Ms: percentile(log, 99),
  samples: status.length + log.length,
  errors,
  logEntries: last?.entries.length,
  logSize: last?.size,
  logCapacity: last?.capacity,
  ...(firstError ? { firstError } : {}),
};
process.stdout.write(JSON.stringify(result) + '\n');
