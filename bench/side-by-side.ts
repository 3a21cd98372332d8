/**
 * On-vs-off comparisons (enforcement, the request log): two proxies, one per configuration,
 * loaded at the same time on the same CPU, in slices; judged by the median over slices of the
 * on/off ratios.
 *
 * Why this shape: on the 2-core machines this runs on, a proxy's cost per request moves by
 * ±10 % or more from one second to the next (the machine is shared, and the load generator and
 * the upstream share its cores). Any comparison of stretches taken one after the other carries
 * that drift: fresh processes run in turn gave a 10 % target a pass or a miss by the luck of
 * their pairs, and even 1 s slices in ABBA order still spread their couples from 70 to 120 %
 * (docs/benchmarks.md, item 4). Loaded together on one CPU, the two proxies meet every slow
 * moment at the same instant, the scheduler shares the CPU between them, and each one's CPU
 * time per request is read over the same second: the middle half of one run's slices then
 * spans about five points, and the medians of runs of one tree about two. Each side keeps its
 * own process, so neither runs code warmed or made polymorphic by the other side's traffic.
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
  /** Slices in which both sides are loaded at once. */
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
  /** on/off req/s, the median over slices. */
  rpsRatio: number;
  /** on/off CPU µs per request, the median over slices. */
  cpuRatio: number;
  /**
   * Where the true median of the CPU ratio lies with at least 90 % confidence, from the
   * slices' order statistics; undefined with too few slices to say.
   */
  cpuInterval: [number, number] | undefined;
  /** Each slice's req/s and CPU ratios, for the note. */
  ratios: { rps: number; cpu: number }[];
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
    for (let i = 0; i < lengths.pairs; i++) {
      const [offSlice, onSlice] = await Promise.all([
        measureSlice(proxies.off!, off, lengths.sliceSeconds, loadCpus),
        measureSlice(proxies.on!, on, lengths.sliceSeconds, loadCpus),
      ]);
      slices.off.push(offSlice);
      slices.on.push(onSlice);
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
  const ratios = slices.off.map((offSlice, i) => {
    const onSlice = slices.on[i]!;
    return {
      rps: onSlice.result.rps / offSlice.result.rps,
      cpu: cpuPerRequest(onSlice) / cpuPerRequest(offSlice),
    };
  });
  return {
    off: summary(slices.off),
    on: summary(slices.on),
    rpsRatio: median(ratios.map((r) => r.rps)),
    cpuRatio: median(ratios.map((r) => r.cpu)),
    cpuInterval: medianInterval(ratios.map((r) => r.cpu)),
    ratios,
  };
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

/**
 * The note that says what a section's verdict was read from: `what`, the 90 % interval of its
 * median when there are enough slices (`interval`, already formatted), and the req/s figure.
 */
export function verdictNote(what: string, interval: string[] | undefined, byRps: string): string {
  const range = interval ? ` (90% interval of the median ${interval[0]} to ${interval[1]})` : '';
  return `${what}: CPU µs per request, median of the slices${range}; by req/s ${byRps}`;
}

/** One note line with how far the slices' ratios spread, so a reader can judge the median. */
export function spreadNote(result: SideBySide, lengths: SliceLengths): string {
  const spread = (values: number[]) => {
    const [min, q1, mid, q3, max] = quartiles(values).map((v) => `${fixed(v * 100)}%`);
    return `${min} | ${q1} ${mid} ${q3} | ${max}`;
  };
  return (
    `${lengths.pairs} slices of ${lengths.sliceSeconds} s, both proxies loaded at once, ` +
    `${result.placement}; on/off by slice (min | quartiles | max): ` +
    `req/s ${spread(result.ratios.map((r) => r.rps))}, ` +
    `CPU µs per request ${spread(result.ratios.map((r) => r.cpu))}; ` +
    `rows: each side over all its slices`
  );
}

function cpuPerRequest(slice: Slice): number {
  return slice.cpuSeconds / slice.result.requests;
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

function median(values: number[]): number {
  return quartiles(values)[2]!;
}

/**
 * A distribution-free 90 % confidence interval for the median: the k-th smallest and k-th
 * largest value, with k as large as keeps the chance that the median lies outside below 10 %
 * (each of n values falls below the median with probability ½). Slices are taken as
 * independent, which slices a second apart on a shared machine are only roughly; read it as
 * an indication of how sure the median is, not as an exact guarantee.
 */
function medianInterval(values: number[]): [number, number] | undefined {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  let k = 0;
  // P(at most k of n fall below the median), grown one term at a time.
  let term = 0.5 ** n;
  let tail = term;
  while (2 * tail <= 0.1) {
    k++;
    term = (term * (n - k + 1)) / k;
    tail += term;
  }
  // The interval [x(k), x(n-k+1)] (1-based) misses the median with probability 2·P(X ≤ k−1).
  if (k === 0) return undefined;
  return [sorted[k - 1]!, sorted[n - k]!];
}

/** Min, first quartile, median, third quartile, max (linear interpolation between ranks). */
function quartiles(values: number[]): number[] {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (share: number) => {
    const rank = share * (sorted.length - 1);
    const below = Math.floor(rank);
    const above = Math.min(below + 1, sorted.length - 1);
    return sorted[below]! + (sorted[above]! - sorted[below]!) * (rank - below);
  };
  return [0, 0.25, 0.5, 0.75, 1].map(at);
}
