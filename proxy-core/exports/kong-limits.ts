/**
 * Tier limits as Kong counts them: `rate-limiting` holds one fixed, clock-aligned window per
 * period (second to month, no week); Enterprise's `rate-limiting-advanced` holds any number of
 * windows in seconds, all sliding or all fixed. Neither has a burst or a per-route cost.
 */

import type { LimitDefinition, Period, Policy } from '../policies/schema.ts';
import { PERIOD_SECONDS, describeLimit, limitPath, type TierView } from './model.ts';
import type { WarningList } from './types.ts';

export type KongPlugin = { name: string; config: Record<string, unknown> };
type Plugin = KongPlugin;

const OSS_PERIODS: Partial<Record<Period, string>> = {
  second: 'second',
  minute: 'minute',
  hour: 'hour',
  day: 'day',
  month: 'month',
};

/** rate-limiting counts fixed windows aligned to the clock: one number per period. */
export function ossLimits(view: TierView, warnings: WarningList): Plugin | undefined {
  const config: Record<string, unknown> = {};
  for (const [l, limit] of view.tier.limits.entries()) {
    const at = limitPath(view.index, l);
    const what = describeLimit(view.tier, limit);
    const field = OSS_PERIODS[limit.per];
    if (field === undefined) {
      warnings.add(
        'period-unsupported',
        at,
        `${what}: rate-limiting has no weekly window (second to year, no week); not exported`,
      );
      continue;
    }
    if (config[field] !== undefined) {
      warnings.add(
        'duplicate-period',
        at,
        `${what}: rate-limiting holds one limit per period; kept the smaller ${limit.per} limit`,
      );
    }
    config[field] = Math.min(Number(config[field] ?? Infinity), limit.requests);
    warnAlgorithm(limit, at, what, 'fixed', warnings);
  }
  if (Object.keys(config).length === 0) return undefined;
  return {
    name: 'rate-limiting',
    config: { ...config, limit_by: 'consumer', policy: 'local', fault_tolerant: true },
  };
}

/** rate-limiting-advanced takes any number of windows, all sliding or all fixed. */
export function advancedLimits(view: TierView, warnings: WarningList): Plugin {
  const limits = view.tier.limits;
  const sliding = limits.some((limit) => limit.algorithm === 'sliding-window');
  const windowType = sliding ? 'sliding' : 'fixed';
  for (const [l, limit] of limits.entries()) {
    const at = limitPath(view.index, l);
    const what = describeLimit(view.tier, limit);
    warnAlgorithm(limit, at, what, windowType, warnings);
    if (limit.per === 'month') {
      warnings.add(
        'month-as-30-days',
        at,
        `${what}: rate-limiting-advanced windows are seconds; the month is 2592000 s (30 days)`,
      );
    }
  }
  return {
    name: 'rate-limiting-advanced',
    config: {
      limit: limits.map((limit) => limit.requests),
      window_size: limits.map((limit) => PERIOD_SECONDS[limit.per]),
      window_type: windowType,
      identifier: 'consumer',
      strategy: 'local',
      sync_rate: -1,
      namespace: `tollgate-${view.tier.name}`,
    },
  };
}

function warnAlgorithm(
  limit: LimitDefinition,
  at: string,
  what: string,
  windowType: 'fixed' | 'sliding',
  warnings: WarningList,
) {
  const exact =
    (windowType === 'fixed' &&
      (limit.algorithm === 'fixed-window' || limit.algorithm === 'calendar')) ||
    (windowType === 'sliding' && limit.algorithm === 'sliding-window');
  if (!exact) {
    warnings.add(
      'algorithm-approximated',
      `${at}.algorithm`,
      `${what}: Kong counts a ${windowType} window of ${limit.requests} per ${limit.per}` +
        (limit.algorithm === 'calendar' ? ', not aligned to the calendar' : ''),
    );
  }
  if (limit.burst > 0) {
    warnings.add(
      'burst-dropped',
      `${at}.burst`,
      `${what}: Kong's window counters have no burst; spikes above ${limit.requests} are refused`,
    );
  }
}

export function warnTimezone(policy: Policy, warnings: WarningList) {
  if (policy.timezone === 'UTC') return;
  const calendar = policy.tiers.some((tier) => tier.limits.some((l) => l.algorithm === 'calendar'));
  if (!calendar) return;
  warnings.add(
    'timezone-ignored',
    'timezone',
    `calendar quotas reset at midnight ${policy.timezone}; Kong's windows follow UTC`,
  );
}
