/**
 * What a caller may do: the route a request matches, the tier's entitlements, route roles, and
 * rules over attributes (JWT claims, headers, client address, consumer, tier, role).
 *
 * Rules: a `deny` rule refuses when all its conditions hold. `allow` rules gate their routes:
 * when any allow rule covers a route, at least one of them must hold for the request to pass.
 */

import type { ExchangeRequest } from '../server/exchange.ts';
import type { CompiledApi, CompiledPolicy, CompiledRoute } from './compile.ts';
import type { Caller } from './identify.ts';
import { headerValue } from './identify.ts';
import { pathOnly } from './path-pattern.ts';
import type { RuleCondition } from './schema.ts';

export function matchRoute(
  api: CompiledApi,
  method: string,
  target: string,
): CompiledRoute | undefined {
  const path = pathOnly(target);
  for (const route of api.routes) {
    if (route.methods !== null && !route.methods.has(method)) continue;
    if (route.pattern.test(path)) return route;
  }
  return undefined;
}

export type Authorization =
  { ok: true } | { ok: false; reason: 'ROUTE_NOT_ENTITLED' | 'RULE_DENIED'; detail: string };

export function authorize(
  compiled: CompiledPolicy,
  route: CompiledRoute,
  caller: Caller,
  request: ExchangeRequest,
): Authorization {
  const tier = compiled.tiers.get(caller.tier)!;
  if (!tier.entitled.has(route.key)) {
    return {
      ok: false,
      reason: 'ROUTE_NOT_ENTITLED',
      detail: `tier "${tier.name}" does not include route "${route.name}" (${request.method})`,
    };
  }

  if (route.roles.length > 0 && !route.roles.some((role) => caller.roles.includes(role))) {
    return {
      ok: false,
      reason: 'RULE_DENIED',
      detail: `route "${route.name}" needs one of the roles ${route.roles.join(', ')}`,
    };
  }

  let allowRules = 0;
  let allowed = false;
  for (const rule of compiled.rules) {
    if (rule.routes !== null && !rule.routes.has(route.key)) continue;
    const holds = rule.def.when.every((c, i) =>
      conditionHolds(c, rule.patterns[i]!, caller, request),
    );
    if (rule.def.effect === 'deny' && holds) {
      return {
        ok: false,
        reason: 'RULE_DENIED',
        detail: `rule "${rule.def.name}" denies this request`,
      };
    }
    if (rule.def.effect === 'allow') {
      allowRules++;
      allowed ||= holds;
    }
  }
  if (allowRules > 0 && !allowed) {
    return { ok: false, reason: 'RULE_DENIED', detail: 'no allow rule of this route holds' };
  }
  return { ok: true };
}

function conditionHolds(
  condition: RuleCondition,
  pattern: RegExp | null,
  caller: Caller,
  request: ExchangeRequest,
): boolean {
  const values = attributeValues(condition.attribute, caller, request);
  if (condition.present !== undefined) return values.length > 0 === condition.present;
  return values.some((value) => {
    if (condition.equals !== undefined) return value === condition.equals;
    if (condition.in !== undefined) return condition.in.includes(value);
    return pattern !== null && pattern.test(value);
  });
}

/** Every value an attribute has; claims that are arrays (scopes, groups) give each item. */
function attributeValues(attribute: string, caller: Caller, request: ExchangeRequest): string[] {
  if (attribute === 'clientAddress') return [request.clientAddress];
  if (attribute === 'consumer') return [caller.consumer];
  if (attribute === 'tier') return [caller.tier];
  if (attribute === 'role') return [...caller.roles];

  if (attribute.startsWith('header.')) {
    const value = headerValue(request.headers, attribute.slice(7).toLowerCase());
    return value === undefined ? [] : [value];
  }

  const claim = caller.claims?.[attribute.slice(6)];
  if (claim === undefined || claim === null) return [];
  if (Array.isArray(claim)) return claim.map(String);
  // OAuth scopes come space-separated in one string.
  if (attribute === 'claim.scope' && typeof claim === 'string') return claim.split(' ');
  return [typeof claim === 'object' ? JSON.stringify(claim) : String(claim)];
}
