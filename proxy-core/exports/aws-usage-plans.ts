/**
 * A tier as an API Gateway usage plan: one throttle (a token bucket in requests per second),
 * one quota per day, week or month, and per-method zero throttles standing in for routes
 * outside the tier, since a usage plan cannot forbid a method.
 */

import type { ApiDefinition, Policy } from '../policies/schema.ts';
import {
  bucketCapacity,
  perSecond,
  ratesAndQuotas,
  tiersEntitledTo,
  warnDropped,
  type TierView,
} from './model.ts';
import type { WarningList } from './types.ts';

type Doc = Record<string, unknown>;

const QUOTA_PERIODS = { day: 'DAY', week: 'WEEK', month: 'MONTH' } as const;

/** A usage plan applies to a whole stage; routes outside the tier get a zero throttle. */
export function deniedRoutes(
  view: TierView,
  api: ApiDefinition,
  methodKeys: ReadonlyMap<string, string[]>,
  warnings: WarningList,
): Doc {
  const denied = api.routes.filter((route) => !tiersEntitledTo([view], api, route).length);
  if (denied.length === 0) return {};
  warnings.add(
    'entitlement-as-throttle',
    `tiers[${view.index}].routes`,
    `tier "${view.tier.name}" may not call ` +
      `${denied.map((r) => `${api.name}.${r.name}`).join(', ')}; ` +
      'usage plans cannot forbid a method, so those methods get a zero throttle (429, not 403)',
  );
  const throttle: Record<string, Doc> = {};
  for (const route of denied) {
    for (const key of methodKeys.get(route.name) ?? [])
      throttle[key] = { RateLimit: 0, BurstLimit: 0 };
  }
  return { Throttle: throttle };
}

/** One throttle (rate per second + bucket) and one quota per plan. */
export function usagePlanLimits(policy: Policy, view: TierView, warnings: WarningList): Doc {
  const { rates, quotas } = ratesAndQuotas(view);
  const [rate, ...otherRates] = rates;
  const [quota, ...otherQuotas] = quotas;

  const result: Doc = {};
  if (rate) {
    const { limit, at, what } = rate;
    const perSec = Math.round(perSecond(limit) * 10_000) / 10_000;
    const burst = bucketCapacity(limit);
    result.Throttle = { RateLimit: perSec, BurstLimit: burst };
    if (
      limit.per !== 'second' ||
      limit.algorithm === 'sliding-window' ||
      limit.algorithm === 'fixed-window'
    ) {
      warnings.add(
        'rate-per-second',
        at,
        `${what}: API Gateway throttles a token bucket in requests per second; emitted ` +
          `RateLimit ${perSec}/s with BurstLimit ${burst}`,
      );
    }
  }
  warnDropped(
    otherRates,
    warnings,
    'throttle-dropped',
    'a usage plan has one throttle; kept the stricter one',
  );

  if (quota) {
    const { limit, at, what } = quota;
    result.Quota = {
      Limit: limit.requests,
      Period: QUOTA_PERIODS[limit.per as keyof typeof QUOTA_PERIODS],
    };
    if (limit.algorithm !== 'calendar') {
      warnings.add(
        'quota-calendar',
        `${at}.algorithm`,
        `${what}: usage plan quotas reset at calendar boundaries`,
      );
    }
    if (policy.timezone !== 'UTC') {
      warnings.add(
        'timezone-ignored',
        'timezone',
        `${what}: usage plan quotas reset in UTC, not ${policy.timezone}`,
      );
    }
    if (limit.burst > 0) {
      warnings.add('burst-dropped', `${at}.burst`, `${what}: quotas have no burst`);
    }
  }
  warnDropped(
    otherQuotas,
    warnings,
    'quota-dropped',
    'a usage plan has one quota; kept the stricter one',
  );
  return result;
}
