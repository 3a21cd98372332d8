/**
 * The main rows: requests/s and latency at 50 connections for direct, Tollgate, the reference
 * and mitmdump, over plain HTTP (wrk, absolute-URI) and intercepted HTTPS (bench/load.ts for
 * every row), with the proxy's peak RSS sampled while it is under load. One proxy runs at a time.
 */

import { nodeArgs, runToEnd } from './children.ts';
import type { BenchContext } from './context.ts';
import { MEASURING_LINE, type LoadResult } from './load-result.ts';
import { cpuSeconds, sampleRss } from './rss.ts';
import { startProxy, type ProxyTarget, type TargetName, type TollgateOptions } from './targets.ts';
import { runWrk } from './wrk.ts';

export type Protocol = 'http' | 'https';

export interface ThroughputRow {
  protocol: Protocol;
  target: TargetName;
  result?: LoadResult;
  /** Peak VmRSS of the proxy process during the measured run, MB. */
  rssMb?: number;
  /** Proxy CPU (user + system) per request during the measured run, microseconds. */
  cpuUsPerRequest?: number;
  skipped?: string;
}

export const TARGETS: TargetName[] = [
  'direct',
  'tollgate',
  'tollgate-bare',
  'reference',
  'mitmdump',
];

export async function measureThroughput(context: BenchContext): Promise<ThroughputRow[]> {
  const rows: ThroughputRow[] = [];
  for (const target of TARGETS) {
    for (const row of await measureTarget(context, target)) {
      rows.push(row);
      log(row);
    }
  }
  return rows;
}

/** Both protocols against one target; the proxy is started once and always stopped. */
export async function measureTarget(
  context: BenchContext,
  target: TargetName,
  tollgate: TollgateOptions = {},
  protocols: Protocol[] = ['http', 'https'],
): Promise<ThroughputRow[]> {
  if (target === 'direct') {
    const rows: ThroughputRow[] = [];
    for (const protocol of protocols) {
      rows.push({ protocol, target, result: await drive(context, protocol, null) });
    }
    return rows;
  }

  const proxy = await startProxy(target, context, tollgate);
  if ('skipped' in proxy) {
    return protocols.map((protocol) => ({ protocol, target, skipped: proxy.skipped }));
  }

  try {
    const rows: ThroughputRow[] = [];
    for (const protocol of protocols) {
      const rss = sampleRss(proxy.pid);
      let cpuAtStart: Promise<number | null> = Promise.resolve(null);
      const result = await drive(context, protocol, proxy, () => {
        cpuAtStart = cpuSeconds(proxy.pid);
      });
      const cpuUsed = await cpuDifference(cpuAtStart, cpuSeconds(proxy.pid));
      rows.push({
        protocol,
        target,
        result,
        rssMb: (await rss.stop()) ?? undefined,
        cpuUsPerRequest: cpuUsed === undefined ? undefined : (cpuUsed / result.requests) * 1e6,
      });
    }
    return rows;
  } finally {
    await proxy.stop();
  }
}

/**
 * One measured run (after an unrecorded warm-up) through `proxy`, or direct when null.
 * `onMeasuring` is called when the warm-up is over and the measured part begins.
 */
export async function drive(
  context: BenchContext,
  protocol: Protocol,
  proxy: ProxyTarget | null,
  onMeasuring: () => void = () => undefined,
): Promise<LoadResult> {
  if (protocol === 'http') {
    const options = {
      connectPort: proxy?.port ?? context.upstream.http,
      authority: `127.0.0.1:${context.upstream.http}`,
      viaProxy: proxy !== null,
      connections: context.connections,
    };
    await runWrk({ ...options, seconds: context.warmupSeconds });
    onMeasuring();
    return runWrk({ ...options, seconds: context.seconds });
  }

  const args = [
    '--url',
    `https://127.0.0.1:${context.upstream.https}`,
    '--ca',
    proxy?.caPath ?? context.pki.caCertPath,
    '--connections',
    String(context.connections),
    '--seconds',
    String(context.seconds),
    '--warmup',
    String(context.warmupSeconds),
  ];
  if (proxy) args.push('--proxy-port', String(proxy.port));
  const timeoutMs = (context.seconds + context.warmupSeconds + 30) * 1000;
  const stdout = await runToEnd(nodeArgs('load.ts', args), timeoutMs, (line) => {
    if (line === MEASURING_LINE) onMeasuring();
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as LoadResult;
}

async function cpuDifference(
  start: Promise<number | null>,
  end: Promise<number | null>,
): Promise<number | undefined> {
  const [a, b] = await Promise.all([start, end]);
  return a === null || b === null ? undefined : b - a;
}

function log(row: ThroughputRow): void {
  const what = row.result
    ? `${Math.round(row.result.rps)} req/s, ${row.result.errors} errors`
    : `skipped (${row.skipped})`;
  process.stderr.write(`bench: ${row.protocol} ${row.target}: ${what}\n`);
}
