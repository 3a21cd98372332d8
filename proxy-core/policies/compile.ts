/**
 * Turns a validated `Policy` into the lookup structures the engine reads per request: hosts to
 * APIs, compiled route patterns, tiers with their limit runtimes, and credentials to consumers.
 * Done once per policy change, so the hot path is map lookups and one regular expression.
 */

import { createHash } from 'node:crypto';
import { compilePathPattern } from './path-pattern.ts';
import { hostMatches, resolveRouteRefs, routeKey } from './references.ts';
import { limiterFor, PERIOD_MS, type LimitParams, type Limiter } from './limiters/index.ts';
import type {
  AdaptiveDefinition,
  ApiDefinition,
  Consumer,
  Fault,
  JwtAuth,
  LimitDefinition,
  LimitScope,
  Policy,
  RateLimitHeaderStyle,
  Rule,
} from './schema.ts';
import type { CounterTable } from './counters.ts';
import { JwtVerifier } from './jwt.ts';
import type { PolicyItem } from './rate-headers.ts';

export interface CompiledRoute {
  key: string;
  api: string;
  name: string;
  /** Null when any method matches. */
  methods: ReadonlySet<string> | null;
  pattern: RegExp;
  cost: number;
  roles: readonly string[];
}

export interface CompiledApi {
  def: ApiDefinition;
  routes: CompiledRoute[];
  headerStyle: RateLimitHeaderStyle;
  realm: string;
  /** Request headers that carry credentials, removed before forwarding (unless kept). */
  credentialHeaders: string[];
  /** Query parameters that carry API keys, removed from the forwarded path (unless kept). */
  credentialQuery: ReadonlySet<string>;
  /** Verifies bearer tokens against this API's jwt methods only. */
  verifier: JwtVerifier;
  wantsCertificate: boolean;
}

export interface CompiledLimit {
  /** Identity that survives policy changes: same id, same counters. */
  id: string;
  name: string;
  tier: string;
  def: LimitDefinition;
  limiter: Limiter;
  /** Written in place by adaptive tightening (`params.limit`). */
  params: LimitParams;
  /** Route keys this limit counts; null for all of the tier's routes. */
  routes: ReadonlySet<string> | null;
  adaptive: AdaptiveDefinition | undefined;
  /** The API names whose health drives an adaptive limit. */
  apis: ReadonlySet<string>;
  counters: CounterTable;
  /** This limit's rate-limit header parts, formatted again only when `params.limit` moves. */
  policyItem: PolicyItem | null;
}

export interface CompiledTier {
  name: string;
  entitled: ReadonlySet<string>;
  limits: CompiledLimit[];
  /** The limits that count a request to each route (by route key), in the tier's order. */
  limitsByRoute: ReadonlyMap<string, readonly CompiledLimit[]>;
}

export interface CompiledRule {
  def: Rule;
  routes: ReadonlySet<string> | null;
  patterns: (RegExp | null)[];
}

export interface CompiledFault {
  def: Fault;
  tiers: ReadonlySet<string> | null;
  routes: ReadonlySet<string> | null;
}

export interface CompiledPolicy {
  policy: Policy;
  exactHosts: Map<string, CompiledApi>;
  wildcardHosts: { pattern: string; api: CompiledApi }[];
  tiers: Map<string, CompiledTier>;
  consumers: Map<string, Consumer>;
  /** sha256(key) hex to consumer name, for keys written in the policy file. */
  keyHashes: Map<string, string>;
  /** Upper-cased fingerprint or subject to consumer name. */
  certificates: Map<string, string>;
  rules: CompiledRule[];
  faults: CompiledFault[];
  limits: CompiledLimit[];
  /** Whether any limit adapts to upstream health: only then are exchanges watched. */
  adapts: boolean;
}

/** `makeCounters` gives each limit its table (kept from a previous policy, or restored). */
export function compilePolicy(
  policy: Policy,
  makeCounters: (limitId: string, scope: LimitScope) => CounterTable,
): CompiledPolicy {
  const exactHosts = new Map<string, CompiledApi>();
  const wildcardHosts: { pattern: string; api: CompiledApi }[] = [];
  const routeApi = new Map<string, string>();

  for (const api of policy.apis) {
    const compiled = compileApi(policy, api);
    for (const route of compiled.routes) routeApi.set(route.key, api.name);
    for (const host of api.hosts) {
      if (host.startsWith('*.')) wildcardHosts.push({ pattern: host, api: compiled });
      else exactHosts.set(host, compiled);
    }
  }

  const limits: CompiledLimit[] = [];
  const tiers = new Map<string, CompiledTier>();
  for (const tier of policy.tiers) {
    const entitled = tier.routes.includes('*')
      ? new Set(routeApi.keys())
      : (resolveRouteRefs(policy, tier.routes) ?? new Set<string>());
    const tierLimits = tier.limits.map((def) => {
      const routes = resolveRouteRefs(policy, def.routes) ?? null;
      const apis = new Set([...(routes ?? entitled)].map((key) => routeApi.get(key)!));
      const limit = compileLimit(policy, tier.name, def, routes, apis, makeCounters);
      limits.push(limit);
      return limit;
    });
    const limitsByRoute = new Map(
      [...routeApi.keys()].map((key) => [
        key,
        tierLimits.filter((limit) => limit.routes === null || limit.routes.has(key)),
      ]),
    );
    tiers.set(tier.name, { name: tier.name, entitled, limits: tierLimits, limitsByRoute });
  }

  return {
    policy,
    exactHosts,
    wildcardHosts,
    tiers,
    consumers: new Map(policy.consumers.map((c) => [c.name, c])),
    keyHashes: new Map(policy.consumers.flatMap((c) => c.keys.map((k) => [sha256(k), c.name]))),
    certificates: new Map(
      policy.consumers.flatMap((c) => c.certificates.map((id) => [id.toUpperCase(), c.name])),
    ),
    rules: policy.rules.map((def) => ({
      def,
      routes: resolveRouteRefs(policy, def.routes) ?? null,
      patterns: def.when.map((w) =>
        w.matches === undefined ? null : new RegExp(`^(?:${w.matches})$`),
      ),
    })),
    faults: policy.faults.map((def) => ({
      def,
      tiers: def.tiers ? new Set(def.tiers) : null,
      routes: resolveRouteRefs(policy, def.routes) ?? null,
    })),
    limits,
    adapts: limits.some((limit) => limit.adaptive !== undefined),
  };
}

export function apiForHost(compiled: CompiledPolicy, host: string): CompiledApi | undefined {
  const exact = compiled.exactHosts.get(host);
  if (exact) return exact;
  for (const entry of compiled.wildcardHosts) {
    if (hostMatches(entry.pattern, host)) return entry.api;
  }
  return undefined;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function compileApi(policy: Policy, api: ApiDefinition): CompiledApi {
  const credentialHeaders = new Set<string>();
  const credentialQuery = new Set<string>();
  for (const method of api.auth) {
    if (method.type === 'apiKey' && method.header) credentialHeaders.add(method.header);
    if (method.type === 'apiKey' && method.query) credentialQuery.add(method.query);
    if (method.type === 'jwt') credentialHeaders.add(method.header);
  }

  return {
    def: api,
    routes: api.routes.map((route) => ({
      key: routeKey(api.name, route.name),
      api: api.name,
      name: route.name,
      methods: route.methods.includes('*') ? null : new Set(route.methods),
      pattern: compilePathPattern(route.path),
      cost: route.cost,
      roles: route.roles,
    })),
    headerStyle: api.rateLimitHeaders ?? policy.rateLimitHeaders,
    realm: api.realm ?? api.name,
    credentialHeaders: [...credentialHeaders],
    credentialQuery,
    verifier: new JwtVerifier(api.auth.filter((m): m is JwtAuth => m.type === 'jwt')),
    wantsCertificate: api.auth.some((m) => m.type === 'mtls'),
  };
}

function compileLimit(
  policy: Policy,
  tier: string,
  def: LimitDefinition,
  routes: ReadonlySet<string> | null,
  apis: ReadonlySet<string>,
  makeCounters: (limitId: string, scope: LimitScope) => CounterTable,
): CompiledLimit {
  const name = def.name ?? `${tier}-${def.per}`;
  const id = `${tier}/${name}/${def.algorithm}/${def.per}/${def.scope}`;
  return {
    id,
    name,
    tier,
    def,
    limiter: limiterFor(def.algorithm),
    params: {
      limit: def.requests,
      periodMs: PERIOD_MS[def.per],
      burst: def.burst,
      per: def.per,
      timeZone: policy.timezone,
    },
    routes,
    adaptive: def.adaptive,
    apis,
    counters: makeCounters(id, def.scope),
    policyItem: null,
  };
}
