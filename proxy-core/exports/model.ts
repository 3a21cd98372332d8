/**
 * Views of a policy that every exporter needs: which tiers may call a route, which consumers
 * sit in a tier, how to name a limit in a warning, and the warnings for features no production
 * gateway here can carry (rules, roles, adaptive limits…).
 */

import { resolveRouteRefs, routeKey } from '../policies/references.ts';
import type {
  ApiDefinition,
  Consumer,
  LimitDefinition,
  Period,
  Policy,
  RouteDefinition,
  Tier,
} from '../policies/schema.ts';
import { WarningList, type ExportFormat, type ExportOptions } from './types.ts';

/** A month is 30 days wherever a target wants seconds; exporters warn where that matters. */
export const PERIOD_SECONDS: Record<Period, number> = {
  second: 1,
  minute: 60,
  hour: 3600,
  day: 86_400,
  week: 604_800,
  month: 2_592_000,
};

export function isQuotaPeriod(per: Period): boolean {
  return per === 'day' || per === 'week' || per === 'month';
}

export function tierPath(tierIndex: number): string {
  return `tiers[${tierIndex}]`;
}

export function limitPath(tierIndex: number, limitIndex: number): string {
  return `tiers[${tierIndex}].limits[${limitIndex}]`;
}

/** `tier "pro", limit 100/minute (token-bucket, burst 20)`, for warning messages. */
export function describeLimit(tier: Tier, limit: LimitDefinition): string {
  const burst = limit.burst > 0 ? `, burst ${limit.burst}` : '';
  return `tier "${tier.name}", limit ${limit.requests}/${limit.per} (${limit.algorithm}${burst})`;
}

/** Requests per second a limit allows on average; orders limits from strictest. */
export function perSecond(limit: LimitDefinition): number {
  return limit.requests / PERIOD_SECONDS[limit.per];
}

/** What a spike may use at once when a limit becomes a token bucket. */
export function bucketCapacity(limit: LimitDefinition): number {
  if (limit.algorithm === 'gcra' || limit.algorithm === 'leaky-bucket') return limit.burst + 1;
  return limit.requests + limit.burst;
}

/** A tier's limit with its policy path and its name for warnings. */
export interface PlacedLimit {
  limit: LimitDefinition;
  at: string;
  what: string;
}

/**
 * The tier's rate limits (second, minute, hour) and quotas (day, week, month), each strictest
 * first, for targets that carry one of each: the first is kept, the rest go to `warnDropped`.
 */
export function ratesAndQuotas(view: TierView): { rates: PlacedLimit[]; quotas: PlacedLimit[] } {
  const placed = view.tier.limits.map((limit, index) => ({
    limit,
    at: limitPath(view.index, index),
    what: describeLimit(view.tier, limit),
  }));
  const strictestFirst = (x: PlacedLimit, y: PlacedLimit) =>
    perSecond(x.limit) - perSecond(y.limit);
  return {
    rates: placed.filter(({ limit }) => !isQuotaPeriod(limit.per)).sort(strictestFirst),
    quotas: placed.filter(({ limit }) => isQuotaPeriod(limit.per)).sort(strictestFirst),
  };
}

/** One warning per limit a target had no room for, `reason` saying what it kept instead. */
export function warnDropped(
  dropped: readonly PlacedLimit[],
  warnings: WarningList,
  code: string,
  reason: string,
): void {
  for (const { at, what } of dropped) warnings.add(code, at, `${what}: ${reason}`);
}

export interface TierView {
  tier: Tier;
  index: number;
  /** Route keys (`api.route`) the tier is entitled to. */
  routeKeys: Set<string>;
  consumers: Consumer[];
}

export function tierViews(policy: Policy): TierView[] {
  return policy.tiers.map((tier, index) => ({
    tier,
    index,
    routeKeys: resolveRouteRefs(policy, tier.routes) ?? new Set<string>(),
    consumers: policy.consumers.filter((consumer) => consumer.tier === tier.name),
  }));
}

/** Names of the tiers entitled to one route, in policy order. */
export function tiersEntitledTo(
  views: readonly TierView[],
  api: ApiDefinition,
  route: RouteDefinition,
): string[] {
  const key = routeKey(api.name, route.name);
  return views.filter((view) => view.routeKeys.has(key)).map((view) => view.tier.name);
}

/** The route's methods with `*` spelled out, for targets that want a list. */
export function explicitMethods(route: RouteDefinition): string[] {
  if (route.methods.includes('*'))
    return ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
  return [...route.methods];
}

export interface CommonSupport {
  /** The target checks conditions on claims, headers or addresses. */
  rules?: boolean;
  roles?: boolean;
  adaptive?: boolean;
  anonymousTier?: boolean;
  /** Limits restricted to a subset of the tier's routes. */
  limitRoutes?: boolean;
  /** Scopes other than per consumer. */
  scopes?: boolean;
}

/** Warnings for policy features that a target (`support` says which) has no counterpart for. */
export function warnUnsupportedFeatures(
  policy: Policy,
  warnings: WarningList,
  target: string,
  support: CommonSupport = {},
): void {
  if (!support.rules) {
    for (const [index, rule] of policy.rules.entries()) {
      warnings.add(
        'rule-dropped',
        `rules[${index}]`,
        `rule "${rule.name}" (${rule.effect}) has no ${target} counterpart here; not exported`,
      );
    }
  }

  for (const [a, api] of policy.apis.entries()) {
    if (api.anonymousTier !== undefined && !support.anonymousTier) {
      warnings.add(
        'anonymous-tier-dropped',
        `apis[${a}].anonymousTier`,
        `API "${api.name}" lets callers without a credential use tier "${api.anonymousTier}"; ` +
          `${target} gets no anonymous access, so they are refused with 401`,
      );
    }
    for (const [r, route] of api.routes.entries()) {
      if (route.roles.length > 0 && !support.roles) {
        warnings.add(
          'roles-dropped',
          `apis[${a}].routes[${r}].roles`,
          `route "${api.name}.${route.name}" also requires one of roles ` +
            `${route.roles.join(', ')}; ` +
            `${target} checks the tier only`,
        );
      }
    }
  }

  for (const [t, tier] of policy.tiers.entries()) {
    for (const [l, limit] of tier.limits.entries()) {
      const at = limitPath(t, l);
      const what = describeLimit(tier, limit);
      if (limit.adaptive && !support.adaptive) {
        warnings.add(
          'adaptive-dropped',
          `${at}.adaptive`,
          `${what} tightens when the upstream is unhealthy; ${target} gets the fixed limit`,
        );
      }
      if (limit.routes !== undefined && !support.limitRoutes) {
        warnings.add(
          'limit-routes-widened',
          `${at}.routes`,
          `${what} counts only routes ${limit.routes.join(', ')}; ${target} counts every route ` +
            `of the tier against it`,
        );
      }
      if (limit.scope !== 'consumer' && !support.scopes) {
        warnings.add(
          'scope-changed',
          `${at}.scope`,
          `${what} is counted per ${limit.scope}; ${target} counts it per consumer`,
        );
      }
    }
  }
}

/** For targets that count each request once: one warning per route of `api` costing more. */
export function warnRouteCosts(
  api: ApiDefinition,
  apiIndex: number,
  warnings: WarningList,
  counting: string,
): void {
  for (const [r, route] of api.routes.entries()) {
    if (route.cost === 1) continue;
    warnings.add(
      'cost-ignored',
      `apis[${apiIndex}].routes[${r}].cost`,
      `route "${api.name}.${route.name}" costs ${route.cost}; ${counting}`,
    );
  }
}

/**
 * How every gateway exporter starts: its warning list, the tier views, and the warnings for the
 * shared features `target` lacks and, with `includeKeys`, for credentials written in clear.
 */
export function beginExport(
  policy: Policy,
  format: ExportFormat,
  target: string,
  options: ExportOptions,
  support: CommonSupport = {},
): { warnings: WarningList; views: TierView[] } {
  const warnings = new WarningList(format);
  warnUnsupportedFeatures(policy, warnings, target, support);
  if (options.includeKeys) warnKeysIncluded(policy, warnings);
  return { warnings, views: tierViews(policy) };
}

/** The warning every format gives when credentials are written out. */
export function warnKeysIncluded(policy: Policy, warnings: WarningList): void {
  const keys = policy.consumers.reduce((sum, consumer) => sum + consumer.keys.length, 0);
  warnings.add(
    'keys-included',
    'consumers',
    `${keys} consumer key(s) and any JWT shared secrets are written in clear text ` +
      `(--include-keys); keep this file out of version control`,
  );
}

/** For targets that attach limits to consumers: a tier nobody is in has nowhere to put them. */
export function warnTiersWithoutConsumers(
  views: readonly TierView[],
  warnings: WarningList,
  target: string,
  anonymousTiers: ReadonlySet<string> = new Set(),
): void {
  for (const view of views) {
    if (view.consumers.length > 0 || view.tier.limits.length === 0) continue;
    if (anonymousTiers.has(view.tier.name)) continue;
    warnings.add(
      'tier-limits-unattached',
      `tiers[${view.index}].limits`,
      `tier "${view.tier.name}" has no consumers; ${target} attaches limits to consumers, so ` +
        'its limits are not written',
    );
  }
}
