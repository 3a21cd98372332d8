/**
 * On-vs-off comparisons (enforcement, the request log): two proxies, one per configuration,
 * both running for the whole comparison, loaded in turn in short slices, judged by the median
 * over couples of slice pairs.
 *
 * Why this shape: on the 2-core machines this runs on, a proxy's cost per request moves by
 * ±10 % or more from one few-second stretch to the next (the load generator and the upstream
 * share the cores, and the machine itself is shared). Fresh processes run one after the other
 * compared stretches seconds apart, so one full run passed or missed a 10 % target by the luck
 * of its pairs (docs/benchmarks.md, item 4). Here the two sides alternate every slice, so a
 * slow moment falls on both; each side keeps its own process, so neither runs code warmed or
 * made polymorphic by the other side's traffic.
 * Slices go in ABBA order (off-on, on-off, …): in one process the second slice of a pair
 * measured cheaper than the first, whichever side it was (bench/enforcement-profile.ts), so
 * single pair ratios alternate high and low; a couple (a pair and the next, as the geometric
 * mean of their ratios) has each side once in each position and cancels that.
 */

import type { BenchContext } from './context.ts';
import { cpuSplit, pin } from './cpu-split.ts';
import type { LoadResult } from './load-result.ts';
import { cpuSeconds, sampleRss } from './rss.ts';
import { fixed } from './table.ts';
import type { ProxyTarget } from './targets.ts';
import { tableRow, type MeasuredRow } from './tollgate-rows.ts';

export interface ComparedSide {
  start(): Promise<ProxyTarget | { skipped: string }>;
  /** One load run of `seconds` against `proxy`, its load generator on `cpus` when given. */
  load(proxy: ProxyTarget, seconds: number, cpus: string | undefined): Promise<LoadResult>;
}

export interface SliceLengths {
  /** Pairs of slices; a couple is two pairs, so an even count uses every slice. */
  pairs: number;
  sliceSeconds: number;
  warmupSeconds: number;
}

/** The context's lengths: its pairs of slices, its pair seconds as each slice's length. */
export function sliceLengths(context: BenchContext): SliceLengths {
  const { pairs, pairSeconds, warmupSeconds } = context;
  return { pairs, sliceSeconds: pairSeconds, warmupSeconds };
}

export interface SideBySide {
  /** Each side over all its slices: requests over seconds, CPU over requests. */
  off: MeasuredRow;
  on: MeasuredRow;
  /** on/off req/s, the median over couples. */
  rpsRatio: number;
  /** on/off CPU µs per request, the median over couples. */
  cpuRatio: number;
  /** Each couple's req/s and CPU ratios, for the note. */
  couples: { rps: number; cpu: number }[];
  /** Which CPUs the proxies and the load ran on, for the note. */
  placement: string;
}

interface Slice {
  result: LoadResult;
  cpuSeconds: number;
  rssMb: number;
}

type Side = 'off' | 'on';

export async function sideBySide(
  lengths: SliceLengths,
  off: ComparedSide,
  on: ComparedSide,
  upstreamPid: number,
): Promise<SideBySide | { skipped: string }> {
  const split = cpuSplit();
  const pinned = 'unavailable' in split ? undefined : split;
  const placement = pinned
    ? `proxies on CPU ${pinned.proxyCpus}, load generator and upstream on CPU ${pinned.loadCpus}`
    : `not pinned: ${'unavailable' in split ? split.unavailable : ''}`;
  const loadCpus = pinned?.loadCpus;
  if (pinned) await pin(upstreamPid, pinned.loadCpus);

  const proxies: Partial<Record<Side, ProxyTarget>> = {};
  try {
    for (const [side, config] of [
      ['off', off],
      ['on', on],
    ] as const) {
      const proxy = await config.start();
      if ('skipped' in proxy) return proxy;
      proxies[side] = proxy;
      if (pinned) await pin(proxy.pid, pinned.proxyCpus);
      await config.load(proxy, lengths.warmupSeconds, loadCpus);
    }

    const slices: Record<Side, Slice[]> = { off: [], on: [] };
    const configs = { off, on };
    for (let i = 0; i < lengths.pairs; i++) {
      const order: Side[] = i % 2 === 0 ? ['off', 'on'] : ['on', 'off'];
      for (const side of order) {
        const proxy = proxies[side]!;
        slices[side].push(await measureSlice(proxy, configs[side], lengths.sliceSeconds, loadCpus));
      }
    }
    return { ...compare(slices), placement };
  } finally {
    await Promise.all(Object.values(proxies).map((proxy) => proxy.stop()));
    // Later sections share the upstream and expect it free to run anywhere.
    if (pinned) await pin(upstreamPid, pinned.allCpus);
  }
}

async function measureSlice(
  proxy: ProxyTarget,
  config: ComparedSide,
  seconds: number,
  loadCpus: string | undefined,
): Promise<Slice> {
  const rss = sampleRss(proxy.pid);
  const cpuBefore = await cpuSeconds(proxy.pid);
  const settled = await config.load(proxy, seconds, loadCpus).then(
    (result) => ({ result }),
    (error: unknown) => ({ error }),
  );
  const cpuAfter = await cpuSeconds(proxy.pid);
  const rssMb = (await rss.stop()) ?? NaN;
  if ('error' in settled) throw settled.error;

  const cpu = cpuBefore === null || cpuAfter === null ? NaN : cpuAfter - cpuBefore;
  return { result: settled.result, cpuSeconds: cpu, rssMb };
}

function compare(slices: Record<Side, Slice[]>): Omit<SideBySide, 'placement'> {
  const pairRatios = slices.off.map((offSlice, i) => {
    const onSlice = slices.on[i]!;
    return {
      rps: onSlice.result.rps / offSlice.result.rps,
      cpu: cpuPerRequest(onSlice) / cpuPerRequest(offSlice),
    };
  });
  const couples = coupled(pairRatios);
  return {
    off: summary(slices.off),
    on: summary(slices.on),
    rpsRatio: median(couples.map((c) => c.rps)),
    cpuRatio: median(couples.map((c) => c.cpu)),
    couples,
  };
}

/** Each pair with the one after it; a lone last pair (odd count) is left out. */
function coupled(ratios: { rps: number; cpu: number }[]): { rps: number; cpu: number }[] {
  if (ratios.length === 1) return ratios;
  const couples = [];
  for (let i = 0; i + 1 < ratios.length; i += 2) {
    const [a, b] = [ratios[i]!, ratios[i + 1]!];
    couples.push({ rps: Math.sqrt(a.rps * b.rps), cpu: Math.sqrt(a.cpu * b.cpu) });
  }
  return couples;
}

/** One side over all its slices, as a table row. */
function summary(sideSlices: Slice[]): MeasuredRow {
  const requests = sum(sideSlices.map((s) => s.result.requests));
  const seconds = sum(sideSlices.map((s) => s.result.seconds));
  const result: LoadResult = {
    requests,
    errors: sum(sideSlices.map((s) => s.result.errors)),
    seconds,
    rps: requests / seconds,
    p50Ms: median(sideSlices.map((s) => s.result.p50Ms)),
    p99Ms: median(sideSlices.map((s) => s.result.p99Ms)),
  };
  const firstError = sideSlices.find((s) => s.result.firstError)?.result.firstError;
  if (firstError) result.firstError = firstError;

  const cpuMicrosPerRequest = (sum(sideSlices.map((s) => s.cpuSeconds)) / requests) * 1e6;
  const rssMb = Math.max(...sideSlices.map((s) => s.rssMb));
  return tableRow(result, rssMb, cpuMicrosPerRequest);
}

/** One note line listing every couple, so a reader sees how far they spread. */
export function couplesNote(result: SideBySide, lengths: SliceLengths): string {
  const each = result.couples.map((c) => `${fixed(c.rps * 100)}% / ${fixed(c.cpu * 100)}%`);
  return (
    `${lengths.pairs} pairs of ${lengths.sliceSeconds} s slices in ABBA order, both proxies ` +
    `running throughout, ${result.placement}; on/off req/s / CPU µs per request by couple: ` +
    `${each.join(', ')}; rows: each side over all its slices`
  );
}

function cpuPerRequest(slice: Slice): number {
  return slice.cpuSeconds / slice.result.requests;
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  return sorted.length % 2
    ? sorted[Math.floor(middle)]!
    : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
