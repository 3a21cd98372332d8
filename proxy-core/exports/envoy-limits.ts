/**
 * Tier limits for Envoy: second/minute/hour limits as local_ratelimit token buckets, one per
 * consumer; day/week/month quotas as descriptors of the envoyproxy/ratelimit service, which
 * counts calendar windows in UTC.
 */

import type { LimitDefinition, Policy } from '../policies/schema.ts';
import {
  PERIOD_SECONDS,
  bucketCapacity,
  describeLimit,
  isQuotaPeriod,
  limitPath,
  ratesAndQuotas,
  warnDropped,
  type TierView,
} from './model.ts';
import type { WarningList } from './types.ts';

type Doc = Record<string, unknown>;

/** The ratelimit service's units run second to year; Envoy's unit enum has had no week. */
export const QUOTA_UNITS = { day: 'day', month: 'month' } as const;

export interface Bucket {
  consumer: string;
  bucket: Doc;
}

/** One token bucket per consumer, from the strictest second/minute/hour limit of its tier. */
export function localBuckets(views: readonly TierView[], warnings: WarningList): Bucket[] {
  const buckets: Bucket[] = [];
  for (const view of views) {
    const [rate, ...otherRates] = ratesAndQuotas(view).rates;
    if (rate) {
      const { limit, at, what } = rate;
      const bucket = tokenBucket(limit);
      if (limit.algorithm === 'sliding-window' || limit.algorithm === 'fixed-window') {
        warnings.add(
          'algorithm-approximated',
          `${at}.algorithm`,
          `${what}: local_ratelimit is a token bucket; emitted max_tokens ${bucket.max_tokens}, ` +
            `one token every ${bucket.fill_interval}`,
        );
      }
      for (const consumer of view.consumers) buckets.push({ consumer: consumer.name, bucket });
    }
    warnDropped(
      otherRates,
      warnings,
      'rate-dropped',
      'one local token bucket per consumer; kept the stricter limit',
    );
  }
  return buckets;
}

/** Envoy refills at least every 50 ms, so fast rates add several tokens per fill. */
function tokenBucket(limit: LimitDefinition): Doc & { max_tokens: number; fill_interval: string } {
  const capacity = bucketCapacity(limit);
  const interval = PERIOD_SECONDS[limit.per] / limit.requests;
  const tokens = Math.max(1, Math.ceil(0.05 / interval));
  const seconds = Math.round(interval * tokens * 1000) / 1000;
  return { max_tokens: capacity, tokens_per_fill: tokens, fill_interval: `${seconds}s` };
}

/** Descriptors for the ratelimit service: `window=<unit>` then `consumer=<name>`. */
export function quotaDescriptors(
  policy: Policy,
  views: readonly TierView[],
  warnings: WarningList,
): Doc[] {
  const byUnit = new Map<string, Doc[]>();
  for (const view of views) {
    const seen = new Set<string>();
    for (const [l, limit] of view.tier.limits.entries()) {
      if (!isQuotaPeriod(limit.per)) continue;
      const at = limitPath(view.index, l);
      const what = describeLimit(view.tier, limit);
      const unit = QUOTA_UNITS[limit.per as keyof typeof QUOTA_UNITS];
      if (unit === undefined) {
        warnings.add(
          'period-unsupported',
          at,
          `${what}: the ratelimit service has no weekly unit (day, month or year); not exported`,
        );
        continue;
      }
      if (seen.has(unit)) {
        warnings.add(
          'quota-dropped',
          at,
          `${what}: one ${unit} quota per consumer; kept the first`,
        );
        continue;
      }
      seen.add(unit);
      if (limit.algorithm !== 'calendar') {
        warnings.add(
          'quota-calendar',
          `${at}.algorithm`,
          `${what}: the ratelimit service counts calendar ${unit}s (UTC)`,
        );
      } else if (policy.timezone !== 'UTC') {
        warnings.add(
          'timezone-ignored',
          'timezone',
          `${what}: the ratelimit service resets in UTC, not ${policy.timezone}`,
        );
      }
      const entries = byUnit.get(unit) ?? [];
      for (const consumer of view.consumers) {
        entries.push({
          key: 'consumer',
          value: consumer.name,
          rate_limit: { unit, requests_per_unit: limit.requests },
        });
      }
      byUnit.set(unit, entries);
    }
  }
  return [...byUnit.entries()].map(([unit, descriptors]) => ({
    key: 'window',
    value: unit,
    descriptors,
  }));
}
