/** What one load run measured, whichever generator produced it. */
export interface LoadResult {
  requests: number;
  /** Transport errors and timeouts, plus non-2xx answers. */
  errors: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** The first failure seen, to explain a row full of errors. */
  firstError?: string;
}

/** What bench/load.ts prints when its warm-up is over and the measured run begins. */
export const MEASURING_LINE = '{"measuring":true}';
