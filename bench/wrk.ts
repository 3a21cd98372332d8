/**
 * Runs wrk for the HTTP rows, as its own process (C, so it takes little of the 2 cores), with
 * `wrk-proxy.lua` making each request an absolute-URI request when a proxy is in the way.
 */

import { BENCH_DIR, runToEnd } from './children.ts';
import { onCpus } from './cpu-split.ts';
import type { LoadResult } from './load-result.ts';

export interface WrkOptions {
  /** Where wrk connects: the proxy, or the upstream for the direct row. */
  connectPort: number;
  /** `host:port` the requests are for; the upstream itself unless a host is mapped. */
  authority: string;
  viaProxy: boolean;
  connections: number;
  seconds: number;
  /** Request path; `/` by default. */
  path?: string;
  /** One extra request header, e.g. an API key. */
  header?: [name: string, value: string];
  /** CPUs to run wrk on (a taskset list); anywhere when absent. */
  cpus?: string | undefined;
}

export async function runWrk(options: WrkOptions): Promise<LoadResult> {
  const path = options.path ?? '/';
  const target = options.viaProxy ? `http://${options.authority}${path}` : path;
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
    options.authority,
    ...(options.header ?? []),
  ];
  const command: [string, string[]] = ['/usr/bin/wrk', args];
  const stdout = await runToEnd(
    options.cpus === undefined ? command : onCpus(options.cpus, command),
    (options.seconds + 30) * 1000,
  );

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
