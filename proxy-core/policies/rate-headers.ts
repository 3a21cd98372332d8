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
import type { CompiledLimit } from './compile.ts';
import type { RateLimitHeaderStyle } from './schema.ts';

/**
 * Writes the headers of `style` into `headers`. `limits` are the limits that counted the
 * request and `states` where each stands, in the same order; each limit's `policyItem` is set.
 */
export function rateLimitHeaders(
  style: RateLimitHeaderStyle,
  limits: readonly CompiledLimit[],
  states: readonly LimitState[],
  headers: Record<string, string>,
): void {
  if (style === 'none' || states.length === 0) return;
  const tightest = mostConstrained(states);

  if (style === 'ietf' || style === 'ietf+x') {
    headers['ratelimit-policy'] = policyValue(limits);
    headers['ratelimit'] = stateValue(states);
  }
  if (style === 'x-ratelimit' || style === 'ietf+x') {
    headers['x-ratelimit-limit'] = String(tightest.limit);
    headers['x-ratelimit-remaining'] = String(tightest.remaining);
    headers['x-ratelimit-reset'] = String(tightest.resetSeconds);
  }
  if (style === 'kong') {
    for (let i = 0; i < limits.length; i++) {
      const per = limits[i]!.def.per;
      // Header names are case-insensitive; Kong spells these X-RateLimit-Limit-Minute.
      headers[`x-ratelimit-limit-${per}`] = String(states[i]!.limit);
      headers[`x-ratelimit-remaining-${per}`] = String(states[i]!.remaining);
    }
    headers['ratelimit-limit'] = String(tightest.limit);
    headers['ratelimit-remaining'] = String(tightest.remaining);
    headers['ratelimit-reset'] = String(tightest.resetSeconds);
  }
}

/** The limit closest to refusing: least remaining, then the longest wait. */
function mostConstrained(states: readonly LimitState[]): LimitState {
  let best = states[0]!;
  for (const state of states) {
    const fewer = state.remaining < best.remaining;
    const tie = state.remaining === best.remaining;
    if (fewer || (tie && state.resetSeconds > best.resetSeconds)) best = state;
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

function policyValue(limits: readonly CompiledLimit[]): string {
  const first = itemOf(limits[0]!);
  if (limits.length === 1) return first;

  const known = policyValues.get(first);
  if (known && sameItems(known.items, limits)) return known.value;
  const items = limits.map(itemOf);
  const value = items.join(', ');
  if (policyValues.size >= MAX_POLICY_VALUES) policyValues.clear();
  policyValues.set(first, { items, value });
  return value;
}

function sameItems(items: readonly string[], limits: readonly CompiledLimit[]): boolean {
  if (items.length !== limits.length) return false;
  for (let i = 0; i < items.length; i++) if (items[i] !== itemOf(limits[i]!)) return false;
  return true;
}

function itemOf(limit: CompiledLimit): string {
  return limit.policyItem!.text;
}

/** `"name";r=R;t=T, …`. */
function stateValue(states: readonly LimitState[]): string {
  let value = stateItem(states[0]!);
  for (let i = 1; i < states.length; i++) value += ', ' + stateItem(states[i]!);
  return value;
}

function stateItem(state: LimitState): string {
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
