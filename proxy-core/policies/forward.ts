/**
 * What a forwarded request carries instead of its credentials: the consumer and tier headers,
 * and the client's path without the API-key query parameters.
 */

import type { CompiledPolicy } from './compile.ts';
import type { Caller } from './identify.ts';

type IdentityHeaders = Readonly<Record<string, string>>;

/**
 * One frozen header map per consumer and tier, built once per policy rather than per request:
 * the proxy only reads it. Bounded because token consumers may be anyone a JWT names.
 */
const identityHeaders = new WeakMap<CompiledPolicy, Map<string, IdentityHeaders>>();
const MAX_IDENTITIES = 10_000;

export function forwardedIdentity(compiled: CompiledPolicy, caller: Caller): IdentityHeaders {
  let byCaller = identityHeaders.get(compiled);
  if (!byCaller) identityHeaders.set(compiled, (byCaller = new Map()));

  const key = `${caller.consumer}\u0000${caller.tier}`;
  let headers = byCaller.get(key);
  if (!headers) {
    const forward = compiled.policy.forwardHeaders;
    const built: Record<string, string> = {};
    if (forward.consumer) built[forward.consumer] = caller.consumer;
    if (forward.tier) built[forward.tier] = caller.tier;
    headers = Object.freeze(built);
    if (byCaller.size >= MAX_IDENTITIES) byCaller.clear();
    byCaller.set(key, headers);
  }
  return headers;
}

/**
 * `target` (path and query) without the parameters named in `names`, compared decoded as
 * `URLSearchParams` reads them when identifying the caller; other parameters keep their exact
 * spelling and order. Returns `target` itself when nothing was removed.
 */
export function withoutParams(target: string, names: ReadonlySet<string>): string {
  const start = target.indexOf('?');
  if (start === -1 || names.size === 0) return target;

  const pairs = target.slice(start + 1).split('&');
  const kept = pairs.filter((pair) => {
    const eq = pair.indexOf('=');
    const raw = eq === -1 ? pair : pair.slice(0, eq);
    return !names.has(/[%+]/.test(raw) ? decodeName(raw) : raw);
  });
  if (kept.length === pairs.length) return target;
  const path = target.slice(0, start);
  return kept.length === 0 ? path : `${path}?${kept.join('&')}`;
}

function decodeName(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return raw;
  }
}
