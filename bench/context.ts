import type { BenchPkiFiles } from './bench-pki.ts';

/** Everything a bench section needs: run lengths, the temp folder, certs and the upstream. */
export interface BenchContext {
  quick: boolean;
  /** Measured seconds per throughput row, after `warmupSeconds` unrecorded. */
  seconds: number;
  warmupSeconds: number;
  /** Pairs of off/on slices in the on-vs-off sections, each slice `pairSeconds` long. */
  pairs: number;
  pairSeconds: number;
  connections: number;
  tmp: string;
  pki: BenchPkiFiles;
  upstream: { pid: number; http: number; https: number };
}

/** Run lengths: the full run stays under ~6 minutes on 2 cores; --quick is a smoke run. */
export function runLengths(quick: boolean) {
  return quick
    ? {
        ...{ seconds: 2, warmupSeconds: 1, pairs: 2, pairSeconds: 1 },
        ...{ newHosts: 8, bigBodyBytes: 64 * 2 ** 20, logRequests: 5_000 },
      }
    : {
        ...{ seconds: 10, warmupSeconds: 2, pairs: 24, pairSeconds: 1 },
        ...{ newHosts: 40, bigBodyBytes: 2 ** 30, logRequests: 50_000 },
      };
}
