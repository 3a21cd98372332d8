/**
 * Rate-limit response headers in the styles real gateways use:
 *
 * - `ietf`: draft-ietf-httpapi-ratelimit-headers (draft 10) structured fields, one list item per
 *   limit: `RateLimit-Policy: "free-minute";q=5;w=60` and `RateLimit: "free-minute";r=3;t=42`.
 * - `x-ratelimit`: `X-RateLimit-Limit/Remaining/Reset` (reset in delta seconds) for the most
 *   constrained limit, as most API providers send.
 * - `kong`: `X-RateLimit-Limit-Minute` / `X-RateLimit-Remaining-Minute` per period, plus
 *   `RateLimit-Limit/Remaining/Reset` for the most constrained limit.
 * - `ietf+x` (default): both of the first two. `none`: nothing, as AWS API Gateway does.
 */

import type { LimitState } from '../contract/traffic.ts';
import type { Period, RateLimitHeaderStyle } from './schema.ts';

export interface HeaderLimit {
  state: LimitState;
  per: Period;
  windowSeconds: number;
  /** `"name";q=N;w=S`, kept by the compiled limit between requests. */
  policyItem: string;
}

export function rateLimitHeaders(
  style: RateLimitHeaderStyle,
  limits: readonly HeaderLimit[],
  headers: Record<string, string>,
): void {
  if (style === 'none' || limits.length === 0) return;
  const tightest = mostConstrained(limits);

  if (style === 'ietf' || style === 'ietf+x') {
    headers['ratelimit-policy'] = policyValue(limits);
    headers['ratelimit'] = stateValue(limits);
  }
  if (style === 'x-ratelimit' || style === 'ietf+x') {
    headers['x-ratelimit-limit'] = String(tightest.state.limit);
    headers['x-ratelimit-remaining'] = String(tightest.state.remaining);
    headers['x-ratelimit-reset'] = String(tightest.state.resetSeconds);
  }
  if (style === 'kong') {
    for (const limit of limits) {
      // Header names are case-insensitive; Kong spells these X-RateLimit-Limit-Minute.
      headers[`x-ratelimit-limit-${limit.per}`] = String(limit.state.limit);
      headers[`x-ratelimit-remaining-${limit.per}`] = String(limit.state.remaining);
    }
    headers['ratelimit-limit'] = String(tightest.state.limit);
    headers['ratelimit-remaining'] = String(tightest.state.remaining);
    headers['ratelimit-reset'] = String(tightest.state.resetSeconds);
  }
}

/** The limit closest to refusing: least remaining, then the longest wait. */
function mostConstrained(limits: readonly HeaderLimit[]): HeaderLimit {
  let best = limits[0]!;
  for (const limit of limits) {
    const fewer = limit.state.remaining < best.state.remaining;
    const tie = limit.state.remaining === best.state.remaining;
    if (fewer || (tie && limit.state.resetSeconds > best.state.resetSeconds)) best = limit;
  }
  return best;
}

export function policyItem(name: string, limit: number, windowSeconds: number): string {
  return quoted(name) + ';q=' + limit + ';w=' + windowSeconds;
}

/**
 * Joined `RateLimit-Policy` values, by their first item: a tier's limits give the same value on
 * every request. A value built with `+` is a tree of pieces that V8 copies flat when Node
 * checks its characters; kept, it is built and copied once instead of per request.
 */
const policyValues = new Map<string, { items: string[]; value: string }>();
const MAX_POLICY_VALUES = 256;

function policyValue(limits: readonly HeaderLimit[]): string {
  const first = limits[0]!.policyItem;
  if (limits.length === 1) return first;

  const known = policyValues.get(first);
  if (known && sameItems(known.items, limits)) return known.value;
  const items = limits.map((limit) => limit.policyItem);
  const value = items.join(', ');
  if (policyValues.size >= MAX_POLICY_VALUES) policyValues.clear();
  policyValues.set(first, { items, value });
  return value;
}

function sameItems(items: readonly string[], limits: readonly HeaderLimit[]): boolean {
  if (items.length !== limits.length) return false;
  for (let i = 0; i < items.length; i++) if (items[i] !== limits[i]!.policyItem) return false;
  return true;
}

/** `"name";r=R;t=T, …`. */
function stateValue(limits: readonly HeaderLimit[]): string {
  let value = stateItem(limits[0]!.state);
  for (let i = 1; i < limits.length; i++) value += ', ' + stateItem(limits[i]!.state);
  return value;
}

function stateItem(state: HeaderLimit['state']): string {
  return quoted(state.name) + ';r=' + state.remaining + ';t=' + state.resetSeconds;
}

/** Limit names as sf-strings, made once per name: names come from the policy. */
const quotedNames = new Map<string, string>();

function quoted(name: string): string {
  let value = quotedNames.get(name);
  if (value === undefined) {
    value = sfString(name);
    if (quotedNames.size >= MAX_POLICY_VALUES) quotedNames.clear();
    quotedNames.set(name, value);
  }
  return value;
}

/** An RFC 8941 sf-string; names are identifiers, but escape anyway. */
function sfString(text: string): string {
  // Limit names are identifiers, so the escape is almost never needed; skip the regex then.
  if (!text.includes('"') && !text.includes('\\')) return `"${text}"`;
  return `"${text.replace(/[\\"]/g, '\\$&')}"`;
}
