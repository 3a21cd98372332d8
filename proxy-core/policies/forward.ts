/**
 * What a forwarded request carries instead of its credentials: the consumer and tier headers,
 * and the client's path without the API-key query parameters.
 */

import type { HeaderList } from '../server/header-list.ts';
import type { CompiledPolicy } from './compile.ts';
import type { Caller } from './identify.ts';

/**
 * Built once per caller rather than per request: a caller named by a key or certificate is one
 * object per consumer and tier (see identify.ts), and the proxy only reads the list. A token's
 * caller is new on each request, so its list is too.
 */
const identityHeaders = new WeakMap<Caller, HeaderList>();

/** `[name, value, …]`, names in lower case, as a verdict's `setRequestHeaders`. */
export function forwardedIdentity(compiled: CompiledPolicy, caller: Caller): HeaderList {
  if (caller.claims) return build(compiled, caller);

  let headers = identityHeaders.get(caller);
  if (!headers) identityHeaders.set(caller, (headers = build(compiled, caller)));
  return headers;
}

function build(compiled: CompiledPolicy, caller: Caller): HeaderList {
  const forward = compiled.policy.forwardHeaders;
  const headers: string[] = [];
  if (forward.consumer) headers.push(forward.consumer, caller.consumer);
  if (forward.tier) headers.push(forward.tier, caller.tier);
  // Not frozen: a frozen array has its own elements kind, and the header edits would then read
  // lists of two kinds (slower, polymorphic loads). The type keeps it read-only.
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
