/**
 * Tier limits as NGINX `limit_req_zone`s: one zone per limit per second or minute, keyed by
 * the consumer when the caller is in that tier (an empty key is not counted).
 */

import type { LimitDefinition, Tier } from '../policies/schema.ts';
import { PERIOD_SECONDS, describeLimit, limitPath, type TierView } from './model.ts';
import { mapSource } from './nginx-syntax.ts';
import type { WarningList } from './types.ts';

export interface Zone {
  name: string;
  /** `burst=4 nodelay` or empty. */
  burst: string;
  /** Seconds until one request's worth leaks out, for Retry-After. */
  leakSeconds: number;
}

/** Appends the zone for one tier limit, or reports why NGINX cannot hold it. */
export function limitZone(
  view: TierView,
  limitIndex: number,
  limit: LimitDefinition,
  warnings: WarningList,
  lines: string[],
): Zone | undefined {
  const at = limitPath(view.index, limitIndex);
  const what = describeLimit(view.tier, limit);
  if (limit.per !== 'second' && limit.per !== 'minute') {
    warnings.add(
      'quota-not-expressible',
      at,
      `${what}: limit_req only knows rates per second or minute, so a ${limit.per} quota ` +
        'cannot be expressed; nothing emitted for it',
    );
    return undefined;
  }

  const name = `tg_${view.tier.name}_${limitIndex}`;
  const rate = `${limit.requests}r/${limit.per === 'second' ? 's' : 'm'}`;
  const burst = nginxBurst(view.tier, limit, at, warnings);
  lines.push(
    '',
    `# ${what}`,
    `map $tg_tier $${name} { default ""; ${mapSource(view.tier.name)} $tg_consumer; }`,
    `limit_req_zone $${name} zone=${name}:10m rate=${rate};`,
  );
  return {
    name,
    burst: burst > 0 ? `burst=${burst} nodelay` : '',
    leakSeconds: Math.ceil(PERIOD_SECONDS[limit.per] / limit.requests),
  };
}

/**
 * NGINX's limit_req is GCRA: `burst` excess requests pass at once (nodelay), then one per
 * 1/rate. A token bucket of `requests + burst` tokens is the same thing with burst one less.
 */
function nginxBurst(tier: Tier, limit: LimitDefinition, at: string, warnings: WarningList) {
  if (limit.algorithm === 'gcra' || limit.algorithm === 'leaky-bucket') return limit.burst;
  if (limit.algorithm === 'token-bucket') return limit.requests + limit.burst - 1;

  const burst = limit.requests + limit.burst - 1;
  const interval = PERIOD_SECONDS[limit.per] / limit.requests;
  warnings.add(
    'algorithm-approximated',
    `${at}.algorithm`,
    `${describeLimit(tier, limit)}: NGINX has no ${limit.algorithm}; emitted a leaky bucket ` +
      `(burst=${burst} nodelay) that admits the first ${burst + 1} at once like the window, ` +
      `then one every ${round(interval)} s instead of none until the window moves on`,
  );
  return burst;
}

function round(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}
