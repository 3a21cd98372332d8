import type { LoadResult } from './load-result.ts';
import { cpuSeconds, sampleRss } from './rss.ts';
import { fixed } from './table.ts';

/** One measured run of a proxy, ready to become a table row. */
export interface MeasuredRow {
  result: LoadResult;
  rssMb?: number;
  /** The proxy's CPU time per request, when /proc could be read. */
  cpuMicrosPerRequest?: number;
  row(
    label: string,
    target?: string,
  ): { label: string; cells: Record<string, string>; target?: string };
}

/** Runs `load` while sampling the proxy's RSS. */
export async function measuredRow(
  pid: number,
  load: () => Promise<LoadResult>,
): Promise<MeasuredRow> {
  const rss = sampleRss(pid);
  const cpuBefore = await cpuSeconds(pid);
  // The sampler stops whether the load succeeds or not.
  const settled = await load().then(
    (result) => ({ result }),
    (error: unknown) => ({ error }),
  );
  const cpuAfter = await cpuSeconds(pid);
  const rssMb = (await rss.stop()) ?? undefined;
  if ('error' in settled) throw settled.error;
  const { result } = settled;
  const cpuMicrosPerRequest =
    cpuBefore === null || cpuAfter === null
      ? undefined
      : ((cpuAfter - cpuBefore) / result.requests) * 1e6;
  return tableRow(result, rssMb, cpuMicrosPerRequest);
}

/** A measured run as a row; a figure that could not be read stays blank. */
export function tableRow(
  result: LoadResult,
  rssMb: number | undefined,
  cpuMicrosPerRequest: number | undefined,
): MeasuredRow {
  return {
    result,
    rssMb,
    cpuMicrosPerRequest,
    row: (label, target) => ({
      label,
      cells: {
        'req/s': fixed(result.rps),
        'p50 ms': fixed(result.p50Ms),
        'p99 ms': fixed(result.p99Ms),
        'CPU µs/req': fixed(cpuMicrosPerRequest),
        'RSS MB': fixed(rssMb),
        errors: String(result.errors),
      },
      ...(target ? { target } : {}),
    }),
  };
}
