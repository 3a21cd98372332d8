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
import type { HeaderList } from '../server/header-list.ts';
import type { CompiledLimit } from './compile.ts';
import type { RateLimitHeaderStyle } from './schema.ts';

/** Not frozen, like every list the header edits read (see forward.ts). */
const NO_HEADERS: HeaderList = [];

/**
 * The headers of `style` as a `[name, value, …]` list, names in lower case. `limits` are the
 * limits that counted the request and `states` where each stands, in the same order; each
 * limit's `policyItem` is set. Each number is turned into text once: the tightest limit's
 * remaining count appears in two headers.
 */
export function rateLimitHeaders(
  style: RateLimitHeaderStyle,
  limits: readonly CompiledLimit[],
  states: readonly LimitState[],
): HeaderList {
  if (style === 'none' || states.length === 0) return NO_HEADERS;
  const tightestAt = mostConstrained(states);
  const tightest = states[tightestAt]!;
  const remaining = String(tightest.remaining);
  const reset = String(tightest.resetSeconds);

  if (style === 'kong') return kongHeaders(limits, states, tightest, remaining, reset);

  const headers: string[] = [];
  if (style === 'ietf' || style === 'ietf+x') {
    const state = stateValue(limits, states, tightestAt, remaining);
    headers.push('ratelimit-policy', policyValue(limits), 'ratelimit', state);
  }
  if (style === 'x-ratelimit' || style === 'ietf+x') {
    headers.push('x-ratelimit-limit', String(tightest.limit));
    headers.push('x-ratelimit-remaining', remaining, 'x-ratelimit-reset', reset);
  }
  return headers;
}

function kongHeaders(
  limits: readonly CompiledLimit[],
  states: readonly LimitState[],
  tightest: LimitState,
  remaining: string,
  reset: string,
): HeaderList {
  const headers: string[] = [];
  for (let i = 0; i < limits.length; i++) {
    const per = limits[i]!.def.per;
    // Header names are case-insensitive; Kong spells these X-RateLimit-Limit-Minute.
    headers.push(`x-ratelimit-limit-${per}`, String(states[i]!.limit));
    headers.push(`x-ratelimit-remaining-${per}`, String(states[i]!.remaining));
  }
  headers.push('ratelimit-limit', String(tightest.limit));
  headers.push('ratelimit-remaining', remaining, 'ratelimit-reset', reset);
  return headers;
}

/** The index of the limit closest to refusing: least remaining, then the longest wait. */
function mostConstrained(states: readonly LimitState[]): number {
  let best = 0;
  for (let i = 1; i < states.length; i++) {
    const state = states[i]!;
    const fewer = state.remaining < states[best]!.remaining;
    const tie = state.remaining === states[best]!.remaining;
    if (fewer || (tie && state.resetSeconds > states[best]!.resetSeconds)) best = i;
  }
  return best;
}

/** A limit's part of the headers that changes only with its name or its (adapted) limit. */
export interface PolicyItem {
  limit: number;
  /** `"name";q=Q;w=W`, its `RateLimit-Policy` item. */
  text: string;
  /** `"name";r=`, how its `RateLimit` item starts. */
  statePrefix: string;
}

export function policyItem(name: string, limit: number, windowSeconds: number): PolicyItem {
  const quotedName = sfString(name);
  const text = quotedName + ';q=' + limit + ';w=' + windowSeconds;
  return { limit, text, statePrefix: quotedName + ';r=' };
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

/** `"name";r=R;t=T, …`; the tightest limit's remaining count comes already as text. */
function stateValue(
  limits: readonly CompiledLimit[],
  states: readonly LimitState[],
  tightestAt: number,
  tightestRemaining: string,
): string {
  let value = '';
  for (let i = 0; i < states.length; i++) {
    const remaining = i === tightestAt ? tightestRemaining : states[i]!.remaining;
    const item = limits[i]!.policyItem!.statePrefix + remaining + ';t=' + states[i]!.resetSeconds;
    value = i === 0 ? item : value + ', ' + item;
  }
  return value;
}

/** An RFC 8941 sf-string; names are identifiers, but escape anyway. */
function sfString(text: string): string {
  // Limit names are identifiers, so the escape is almost never needed; skip the regex then.
  if (!text.includes('"') && !text.includes('\\')) return `"${text}"`;
  return `"${text.replace(/[\\"]/g, '\\$&')}"`;
}
