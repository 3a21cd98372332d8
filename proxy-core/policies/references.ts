/**
 * Route references as tiers, limits, rules and faults write them: `read` (that route name in
 * any API), `weather.read` (one API's route), `weather.*` (all of one API's routes) or `*`.
 */

import type { Policy } from './schema.ts';

/** `api.route`, the one spelling the engine uses internally for a route. */
export function routeKey(api: string, route: string): string {
  return `${api}.${route}`;
}

/** Every route key a reference names; empty when it names nothing. */
export function resolveRouteRef(policy: Policy, ref: string): string[] {
  const keys: string[] = [];
  const dot = ref.indexOf('.');
  const apiPart = dot === -1 ? '*' : ref.slice(0, dot);
  const routePart = dot === -1 ? ref : ref.slice(dot + 1);

  for (const api of policy.apis) {
    if (apiPart !== '*' && api.name !== apiPart) continue;
    for (const route of api.routes) {
      if (routePart === '*' || route.name === routePart) keys.push(routeKey(api.name, route.name));
    }
  }
  return keys;
}

/** The union of several references, or undefined when `refs` is absent (meaning "all"). */
export function resolveRouteRefs(policy: Policy, refs: readonly string[] | undefined) {
  if (refs === undefined) return undefined;
  return new Set(refs.flatMap((ref) => resolveRouteRef(policy, ref)));
}

/**
 * Whether a host pattern (`api.test` or `*.api.test`) covers a request host. A wildcard covers
 * subdomains only, as TLS certificates do, not the bare domain.
 */
export function hostMatches(pattern: string, host: string): boolean {
  if (!pattern.startsWith('*.')) return pattern === host;
  const suffix = pattern.slice(1);
  return host.length > suffix.length && host.endsWith(suffix);
}

/** Whether two host patterns can both match one host. */
export function hostsOverlap(a: string, b: string): boolean {
  if (a === b) return true;
  if (!a.startsWith('*.') && !b.startsWith('*.')) return false;
  if (a.startsWith('*.') && !b.startsWith('*.')) return hostMatches(a, b);
  if (b.startsWith('*.') && !a.startsWith('*.')) return hostMatches(b, a);
  // Two wildcards overlap when one suffix ends the other.
  return a.endsWith(b.slice(1)) || b.endsWith(a.slice(1));
}
