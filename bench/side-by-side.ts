/**
 * On-vs-off comparisons (enforcement, the request log) as interleaved pairs, each run in a
 * fresh process, judged by the median over the pairs.
 *
 * Why pairs: on the 2-core machines this runs on, one row's CPU per request moved by up to
 * ±15 % between identical runs (the load generator and the upstream share the cores, and the
 * machine itself is shared), so one off/on pair could pass or miss a 10 % target by chance.
 * Interleaving spreads slow moments over both sides; the median drops an outlying pair.
 * Pairs alternate their order (off then on, on then off, …): inside one process the second
 * slice of a pair measured up to 20 % cheaper than the first, whichever side it was
 * (bench/enforcement-profile.ts), so a fixed order could favour one side throughout.
 */

import type { MeasuredRow } from './tollgate-rows.ts';
import { fixed } from './table.ts';

export interface Pair {
  off: MeasuredRow;
  on: MeasuredRow;
}

export interface SideBySide {
  pairs: Pair[];
  /** The pair whose req/s ratio is the median: the one shown as rows. */
  median: Pair;
  /** Median of on/off req/s. */
  rpsRatio: number;
  /** Median of on/off CPU µs per request. */
  cpuRatio: number;
}

type Run = () => Promise<MeasuredRow | { skipped: string }>;

export async function sideBySide(
  count: number,
  runOff: Run,
  runOn: Run,
): Promise<SideBySide | { skipped: string }> {
  const pairs: Pair[] = [];
  for (let i = 0; i < count; i++) {
    const offFirst = i % 2 === 0;
    const first = await (offFirst ? runOff() : runOn());
    if ('skipped' in first) return first;
    const second = await (offFirst ? runOn() : runOff());
    if ('skipped' in second) return second;
    pairs.push(offFirst ? { off: first, on: second } : { off: second, on: first });
  }

  const byRps = [...pairs].sort((a, b) => rpsRatio(a) - rpsRatio(b));
  const median = byRps[Math.floor((byRps.length - 1) / 2)]!;
  return {
    pairs,
    median,
    rpsRatio: rpsRatio(median),
    cpuRatio: medianOf(pairs.map(cpuRatio)),
  };
}

/** One note line listing every pair, so a reader sees how far they spread. */
export function pairsNote(result: SideBySide): string {
  const each = result.pairs.map(
    (pair) => `${fixed(rpsRatio(pair) * 100)}% / ${fixed(cpuRatio(pair) * 100)}%`,
  );
  return (
    `${result.pairs.length} interleaved pairs in alternating order, ` +
    `on/off req/s / CPU µs per request: ` +
    `${each.join(', ')}; the rows are the median pair`
  );
}

function rpsRatio(pair: Pair): number {
  return pair.on.result.rps / pair.off.result.rps;
}

function cpuRatio(pair: Pair): number {
  return (pair.on.cpuMicrosPerRequest ?? NaN) / (pair.off.cpuMicrosPerRequest ?? NaN);
}

function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  return sorted.length % 2
    ? sorted[Math.floor(middle)]!
    : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
