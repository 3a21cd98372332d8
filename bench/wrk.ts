/**
 * Runs wrk for the HTTP rows, as its own process (C, so it takes little of the 2 cores), with
 * `wrk-proxy.lua` making each request an absolute-URI request when a proxy is in the way.
 */

import { BENCH_DIR, runToEnd } from './children.ts';
import type { LoadResult } from './load-result.ts';

export interface WrkOptions {
  /** Where wrk connects: the proxy, or the upstream for the direct row. */
  connectPort: number;
  upstreamPort: number;
  viaProxy: boolean;
  connections: number;
  seconds: number;
}

export async function runWrk(options: WrkOptions): Promise<LoadResult> {
  const upstream = `127.0.0.1:${options.upstreamPort}`;
  const target = options.viaProxy ? `http://${upstream}/` : '/';
  const args = [
    `-c${options.connections}`,
    '-t2',
    `-d${options.seconds}s`,
    '--timeout',
    '5s',
    '-s',
    BENCH_DIR + 'wrk-proxy.lua',
    `http://127.0.0.1:${options.connectPort}/`,
    '--',
    target,
    upstream,
  ];
  const stdout = await runToEnd(['/usr/bin/wrk', args], (options.seconds + 30) * 1000);

  const line = stdout.split('\n').find((l) => l.startsWith('{"requests"'));
  if (!line) throw new Error(`wrk printed no summary:\n${stdout}`);
  const raw = JSON.parse(line) as Record<string, number>;
  const seconds = raw.durationUs! / 1e6;
  const good = raw.requests! - raw.non2xx!;
  return {
    requests: good,
    errors: raw.errors! + raw.non2xx!,
    seconds,
    rps: good / seconds,
    p50Ms: raw.p50Us! / 1000,
    p99Ms: raw.p99Us! / 1000,
    ...(raw.non2xx! > 0 ? { firstError: `${raw.non2xx} non-2xx answers` } : {}),
  };
}
