/**
 * The JavaScript work of one exchange, governed against passthrough, without sockets: what
 * enforcement adds in a warm loop, stage by stage. Through the proxy the same work costs two to
 * three times as much (docs/benchmarks.md, item 8), but this figure is steady to about ±100 ns
 * from run to run, where the proxy's on/off pairs move by ±10 points: it is the one to watch
 * while changing the governed path.
 *
 * Stages, each measured with the ones before it: `decide` (the policy engine's verdict), `up`
 * (the upstream request's head), `down` (the response head with the verdict's headers), `log`
 * (the request log with metrics and alerts, and the engine's `completed`). Heads are built
 * and validated the way Node's writer does it (name and value checks, then concatenation).
 *
 * Usage: node --import tsx bench/governed-path.ts [--rounds 7]
 */

import { validateHeaderName, validateHeaderValue } from 'node:http';
import { parseArgs } from 'node:util';
import { PolicyEngine } from '../proxy-core/policies/engine.ts';
import { parsePolicy } from '../proxy-core/policies/load.ts';
import type {
  ExchangeRecord,
  ExchangeRequest,
  ForwardVerdict,
} from '../proxy-core/server/exchange.ts';
import { endToEndRawHeaders } from '../proxy-core/server/hop-by-hop.ts';
import { AlertWatcher } from '../proxy-core/traffic/alerts.ts';
import { Masker, maskingFromPolicy } from '../proxy-core/traffic/masking.ts';
import { Metrics } from '../proxy-core/traffic/metrics.ts';
import { RequestLog } from '../proxy-core/traffic/request-log.ts';
import { BENCH_KEY, GOVERNED_HOST, benchPolicy } from './enforcement-section.ts';
import { fixed } from './table.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '7' } } });

const MAPPED_HOST = 'mapped.bench.test';
const STAGES = ['decide', 'up', 'down', 'log'] as const;
type Stage = (typeof STAGES)[number];

/** What bench/upstream.ts answers with, as Node's parser hands it over. */
const UPSTREAM_HEADERS = [
  ...['Content-Type', 'application/json', 'Content-Length', '70'],
  ...['Date', 'Fri, 04 Dec 2026 16:00:00 GMT', 'Connection', 'keep-alive'],
  ...['Keep-Alive', 'timeout=5'],
];
const UPSTREAM_BODY = Buffer.from('{"city":"lisbon","temp":21,"unit":"C","wind":12,"sky":"clear"}');

const parsed = parsePolicy(benchPolicy(5000));
if (!parsed.ok) throw new Error('bench policy invalid');
const engine = new PolicyEngine({ policy: parsed.policy });
const log = new RequestLog({ masker: new Masker(maskingFromPolicy(parsed.policy)) });
const metrics = new Metrics();
log.subscribe(metrics.observe);
log.subscribe(new AlertWatcher().observe);

let lastId = 0;
/** Kept so the JIT cannot drop the heads it is asked to build. */
let written = 0;

function clientRequest(host: string): ExchangeRequest {
  return {
    id: String(++lastId),
    startedAt: Date.now(),
    clientAddress: '127.0.0.1',
    scheme: 'http',
    method: 'GET',
    host,
    port: 80,
    path: '/v1/forecast/lisbon',
    headers: { host, 'user-agent': 'wrk', 'x-api-key': BENCH_KEY },
    rawHeaders: ['Host', host, 'User-Agent', 'wrk', 'x-api-key', BENCH_KEY],
    clientCertificate: undefined,
    reverse: undefined,
  };
}

/** Checks each header and concatenates the head, as Node's writer does. */
function head(firstLine: string, headers: readonly string[]): number {
  let text = firstLine;
  for (let i = 0; i < headers.length; i += 2) {
    validateHeaderName(headers[i]!);
    validateHeaderValue(headers[i]!, headers[i + 1]!);
    text += headers[i] + ': ' + headers[i + 1] + '\r\n';
  }
  return text.length;
}

function exchange(host: string, last: Stage): void {
  const request = clientRequest(host);
  const verdict = engine.decide(request) as ForwardVerdict;
  if (last === 'decide') return;

  const upstreamHeaders = endToEndRawHeaders(request.rawHeaders, {
    remove: verdict.removeRequestHeaders,
    set: verdict.setRequestHeaders,
  });
  upstreamHeaders.push('Host', host);
  written += head('GET /v1/forecast/lisbon HTTP/1.1\r\n', upstreamHeaders);
  if (last === 'up') return;

  const responseHeaders = endToEndRawHeaders(UPSTREAM_HEADERS, {
    set: verdict.setResponseHeaders,
  });
  written += head('HTTP/1.1 200 OK\r\n', responseHeaders);
  if (last === 'down') return;

  const record: ExchangeRecord = {
    request,
    annotations: verdict.annotations,
    status: 200,
    responseHeaders,
    addedResponseHeaders: verdict.setResponseHeaders?.length ?? 0,
    requestBytes: 0,
    responseBytes: UPSTREAM_BODY.length,
    timings: { upstream: 1, total: 2 },
    requestBody: undefined,
    responseBody: { bytes: UPSTREAM_BODY, truncated: false },
    error: undefined,
  };
  engine.completed(record);
  log.completed(record);
}

/**
 * ns per exchange. The proxy decides and logs a turn's exchanges together; here a turn is 32
 * exchanges, logged together, then a microtask checkpoint ends it (the policy engine reads
 * its clocks again only after one).
 */
async function nsPerExchange(host: string, last: Stage, count: number): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    exchange(host, last);
    if (i % 32 === 31) {
      log.flush();
      await null;
    }
  }
  log.flush();
  return Number(process.hrtime.bigint() - started) / count;
}

/** Best of the rounds, off and on interleaved, for each stage. */
async function measure(rounds: number) {
  const best = new Map<string, number>();
  const keep = (key: string, ns: number) => best.set(key, Math.min(best.get(key) ?? ns, ns));
  for (const stage of STAGES) {
    await nsPerExchange(GOVERNED_HOST, stage, 20_000);
    await nsPerExchange(MAPPED_HOST, stage, 20_000);
  }
  for (let round = 0; round < rounds; round++) {
    for (const stage of STAGES) {
      keep(`off ${stage}`, await nsPerExchange(MAPPED_HOST, stage, 30_000));
      keep(`on ${stage}`, await nsPerExchange(GOVERNED_HOST, stage, 30_000));
    }
  }
  return best;
}

const best = await measure(Number(values.rounds));
const lines = ['stage      passthrough   governed   added (ns per exchange, cumulative)'];
let addedBefore = 0;
for (const stage of STAGES) {
  const off = best.get(`off ${stage}`)!;
  const on = best.get(`on ${stage}`)!;
  const added = on - off;
  const row = [stage.padEnd(8), fixed(off).padStart(13), fixed(on).padStart(10)];
  lines.push(`${row.join(' ')} ${fixed(added).padStart(8)}  (stage ${fixed(added - addedBefore)})`);
  addedBefore = added;
}
process.stdout.write(lines.join('\n') + '\n');
engine.close();
metrics.close();
if (written === 0) throw new Error('no head was built');
