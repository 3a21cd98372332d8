/**
 * Envoy (v3 static configuration): a virtual host per API with one route per Tollgate route,
 * api_key_auth (or jwt_authn) identifying the consumer, per-route allowed clients for the tier
 * entitlements, local_ratelimit token buckets per consumer for second/minute/hour limits, and
 * the envoyproxy/ratelimit service's descriptor file for day/week/month quotas.
 *
 * Guarantees: without `includeKeys` the api_key_auth filter gets no credentials, which Envoy
 * refuses to load, so the file cannot be deployed until real keys are filled in; JWT keys are
 * then read from a JWKS file the user provides.
 */

import YAML from 'yaml';
import type { ApiDefinition, JwtAuth, LimitDefinition, Policy } from '../policies/schema.ts';
import {
  PERIOD_SECONDS,
  describeLimit,
  isQuotaPeriod,
  limitPath,
  tierViews,
  tiersEntitledTo,
  warnKeysIncluded,
  warnUnsupportedFeatures,
  type TierView,
} from './model.ts';
import { patternRegex } from './path-regex.ts';
import { WarningList, type ExportOptions, type ExportResult } from './types.ts';

type Doc = Record<string, unknown>;

const TYPE = 'type.googleapis.com/envoy.extensions.filters.http';
const DOMAIN = 'tollgate';
/** Set by api_key_auth / jwt_authn from the verified credential, never from the client. */
const CONSUMER_HEADER = 'x-tollgate-consumer';
const QUOTA_UNITS = { day: 'day', week: 'week', month: 'month' } as const;

export function exportEnvoy(policy: Policy, options: ExportOptions = {}): ExportResult {
  const warnings = new WarningList('envoy');
  const views = tierViews(policy);
  warnUnsupportedFeatures(policy, warnings, 'Envoy');
  if (options.includeKeys) warnKeysIncluded(policy, warnings);

  const buckets = localBuckets(views, warnings);
  const quotas = quotaDescriptors(policy, views, warnings);
  const keyAuth = policy.apis.some((api) => api.auth.some((m) => m.type === 'apiKey'));
  const jwt = keyAuth
    ? undefined
    : policy.apis.flatMap((api) => api.auth).find((m) => m.type === 'jwt');

  const virtualHosts = policy.apis.map((api, a) =>
    virtualHost(policy, api, a, views, buckets, quotas.length > 0, keyAuth, warnings),
  );

  const filters: Doc[] = [];
  if (keyAuth) filters.push(apiKeyFilter(policy, options));
  else if (jwt) filters.push(jwtFilter(jwt, options));
  filters.push({
    name: 'envoy.filters.http.local_ratelimit',
    typed_config: {
      '@type': `${TYPE}.local_ratelimit.v3.LocalRateLimit`,
      stat_prefix: 'tollgate_local',
    },
  });
  if (quotas.length > 0) {
    filters.push({
      name: 'envoy.filters.http.ratelimit',
      typed_config: {
        '@type': `${TYPE}.ratelimit.v3.RateLimit`,
        domain: DOMAIN,
        failure_mode_deny: false,
        enable_x_ratelimit_headers: 'DRAFT_VERSION_03',
        rate_limit_service: {
          transport_api_version: 'V3',
          grpc_service: { envoy_grpc: { cluster_name: 'ratelimit' } },
        },
      },
    });
  }
  filters.push({
    name: 'envoy.filters.http.router',
    typed_config: { '@type': `${TYPE}.router.v3.Router` },
  });

  const config = {
    static_resources: {
      listeners: [
        {
          name: 'tollgate',
          address: { socket_address: { address: '0.0.0.0', port_value: 10000 } },
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type':
                      'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                    stat_prefix: 'tollgate',
                    route_config: { name: 'tollgate', virtual_hosts: virtualHosts },
                    http_filters: filters,
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: [
        ...policy.apis.map((api, a) => cluster(api, a, warnings)),
        ...(quotas.length > 0 ? [ratelimitCluster()] : []),
      ],
    },
  };

  const envoyDoc = new YAML.Document(config, { aliasDuplicateObjects: false });
  if (keyAuth && !options.includeKeys) {
    envoyDoc.commentBefore =
      ' Keys are not exported: add api_key_auth credentials ({ key, client: <consumer> })\n' +
      ' before loading this file; Envoy refuses it without them.';
  }
  const files = [{ name: 'envoy/envoy.yaml', content: envoyDoc.toString({ lineWidth: 0 }) }];
  if (quotas.length > 0) {
    const ratelimit = { domain: DOMAIN, descriptors: quotas };
    files.push({
      name: 'envoy/ratelimit-config.yaml',
      content: YAML.stringify(ratelimit, { lineWidth: 0, aliasDuplicateObjects: false }),
    });
  }
  return { files, warnings: warnings.items };
}

function apiKeyFilter(policy: Policy, options: ExportOptions): Doc {
  const sources = policy.apis
    .flatMap((api) => api.auth)
    .flatMap((m) =>
      m.type === 'apiKey'
        ? [...(m.header ? [{ header: m.header }] : []), ...(m.query ? [{ query: m.query }] : [])]
        : [],
    );
  const keep = policy.apis.some((api) => api.keepCredentials);
  const credentials = options.includeKeys
    ? policy.consumers.flatMap((c) => c.keys.map((key) => ({ key, client: c.name })))
    : [];
  return {
    name: 'envoy.filters.http.api_key_auth',
    typed_config: {
      '@type': `${TYPE}.api_key_auth.v3.ApiKeyAuth`,
      ...(credentials.length ? { credentials } : {}),
      key_sources: sources,
      forwarding: { header: CONSUMER_HEADER, hide_credentials: !keep },
    },
  };
}

function jwtFilter(method: JwtAuth, options: ExportOptions): Doc {
  const jwks =
    options.includeKeys && method.secret !== undefined
      ? {
          inline_string: JSON.stringify({
            keys: [
              { kty: 'oct', alg: 'HS256', k: Buffer.from(method.secret).toString('base64url') },
            ],
          }),
        }
      : { filename: '/etc/envoy/tollgate-jwks.json' };
  return {
    name: 'envoy.filters.http.jwt_authn',
    typed_config: {
      '@type': `${TYPE}.jwt_authn.v3.JwtAuthentication`,
      providers: {
        tollgate: {
          ...(method.issuer ? { issuer: method.issuer } : {}),
          ...(method.audience ? { audiences: [method.audience] } : {}),
          local_jwks: jwks,
          from_headers: [{ name: method.header, value_prefix: 'Bearer ' }],
          claim_to_headers: [{ header_name: CONSUMER_HEADER, claim_name: method.consumerClaim }],
          clock_skew_seconds: method.leewaySeconds,
        },
      },
      rules: [{ match: { prefix: '/' }, requires: { provider_name: 'tollgate' } }],
    },
  };
}

interface Bucket {
  consumer: string;
  bucket: Doc;
}

/** One token bucket per consumer, from the strictest second/minute/hour limit of its tier. */
function localBuckets(views: readonly TierView[], warnings: WarningList): Bucket[] {
  const buckets: Bucket[] = [];
  for (const view of views) {
    const rates = view.tier.limits
      .map((limit, index) => ({ limit, index }))
      .filter(({ limit }) => !isQuotaPeriod(limit.per))
      .sort((x, y) => rate(x.limit) - rate(y.limit));
    for (const [n, { limit, index }] of rates.entries()) {
      const at = limitPath(view.index, index);
      const what = describeLimit(view.tier, limit);
      if (n > 0) {
        warnings.add(
          'rate-dropped',
          at,
          `${what}: one local token bucket per consumer; kept the stricter limit`,
        );
        continue;
      }
      const bucket = tokenBucket(limit);
      if (limit.algorithm === 'sliding-window' || limit.algorithm === 'fixed-window') {
        warnings.add(
          'algorithm-approximated',
          `${at}.algorithm`,
          `${what}: local_ratelimit is a token bucket; emitted max_tokens ${bucket.max_tokens}, ` +
            `one token every ${bucket.fill_interval}`,
        );
      }
      for (const consumer of view.consumers) buckets.push({ consumer: consumer.name, bucket });
    }
  }
  return buckets;
}

function rate(limit: LimitDefinition): number {
  return limit.requests / PERIOD_SECONDS[limit.per];
}

/** Envoy refills at least every 50 ms, so fast rates add several tokens per fill. */
function tokenBucket(limit: LimitDefinition): Doc & { max_tokens: number; fill_interval: string } {
  const capacity =
    limit.algorithm === 'gcra' || limit.algorithm === 'leaky-bucket'
      ? limit.burst + 1
      : limit.requests + limit.burst;
  const interval = PERIOD_SECONDS[limit.per] / limit.requests;
  const tokens = Math.max(1, Math.ceil(0.05 / interval));
  const seconds = Math.round(interval * tokens * 1000) / 1000;
  return { max_tokens: capacity, tokens_per_fill: tokens, fill_interval: `${seconds}s` };
}

/** Descriptors for the ratelimit service: `window=<unit>` then `consumer=<name>`. */
function quotaDescriptors(
  policy: Policy,
  views: readonly TierView[],
  warnings: WarningList,
): Doc[] {
  const byUnit = new Map<string, Doc[]>();
  for (const view of views) {
    const seen = new Set<string>();
    for (const [l, limit] of view.tier.limits.entries()) {
      if (!isQuotaPeriod(limit.per)) continue;
      const at = limitPath(view.index, l);
      const what = describeLimit(view.tier, limit);
      const unit = QUOTA_UNITS[limit.per as keyof typeof QUOTA_UNITS];
      if (seen.has(unit)) {
        warnings.add(
          'quota-dropped',
          at,
          `${what}: one ${unit} quota per consumer; kept the first`,
        );
        continue;
      }
      seen.add(unit);
      if (limit.algorithm !== 'calendar') {
        warnings.add(
          'quota-calendar',
          `${at}.algorithm`,
          `${what}: the ratelimit service counts calendar ${unit}s (UTC)`,
        );
      } else if (policy.timezone !== 'UTC') {
        warnings.add(
          'timezone-ignored',
          'timezone',
          `${what}: the ratelimit service resets in UTC, not ${policy.timezone}`,
        );
      }
      const entries = byUnit.get(unit) ?? [];
      for (const consumer of view.consumers) {
        entries.push({
          key: 'consumer',
          value: consumer.name,
          rate_limit: { unit, requests_per_unit: limit.requests },
        });
      }
      byUnit.set(unit, entries);
    }
  }
  return [...byUnit.entries()].map(([unit, descriptors]) => ({
    key: 'window',
    value: unit,
    descriptors,
  }));
}

function virtualHost(
  policy: Policy,
  api: ApiDefinition,
  a: number,
  views: readonly TierView[],
  buckets: readonly Bucket[],
  quotas: boolean,
  keyAuth: boolean,
  warnings: WarningList,
): Doc {
  for (const [m, method] of api.auth.entries()) {
    if (method.type === 'apiKey' || (method.type === 'jwt' && !keyAuth)) continue;
    warnings.add(
      `${method.type}-dropped`,
      `apis[${a}].auth[${m}]`,
      `API "${api.name}" accepts ${method.type}; Envoy's auth filters all have to pass, so only ` +
        `${keyAuth ? 'api_key_auth' : 'jwt_authn'} is exported`,
    );
  }
  if (!keyAuth && api.auth.some((m) => m.type === 'jwt')) {
    warnings.add(
      'jwt-entitlement-unchecked',
      `apis[${a}].auth`,
      `API "${api.name}": jwt_authn verifies tokens but does not restrict routes per tier`,
    );
  }

  const routes = api.routes.map((route, r) => {
    if (route.cost !== 1) {
      warnings.add(
        'cost-ignored',
        `apis[${a}].routes[${r}].cost`,
        `route "${api.name}.${route.name}" costs ${route.cost}; Envoy counts each request once`,
      );
    }
    const allowed = new Set(tiersEntitledTo(views, api, route));
    const clients = policy.consumers.filter((c) => allowed.has(c.tier)).map((c) => c.name);
    const methods = route.methods.includes('*') ? [] : route.methods;

    const perFilter: Doc = {
      'envoy.filters.http.local_ratelimit': {
        '@type': `${TYPE}.local_ratelimit.v3.LocalRateLimit`,
        stat_prefix: `tollgate_${api.name}_${route.name}`,
        token_bucket: { max_tokens: 1_000_000, tokens_per_fill: 1_000_000, fill_interval: '1s' },
        filter_enabled: { default_value: { numerator: 100, denominator: 'HUNDRED' } },
        filter_enforced: { default_value: { numerator: 100, denominator: 'HUNDRED' } },
        enable_x_ratelimit_headers: 'DRAFT_VERSION_03',
        descriptors: buckets.map(({ consumer, bucket }) => ({
          entries: [{ key: 'consumer', value: consumer }],
          token_bucket: bucket,
        })),
      },
    };
    if (keyAuth) {
      perFilter['envoy.filters.http.api_key_auth'] = {
        '@type': `${TYPE}.api_key_auth.v3.ApiKeyAuthPerRoute`,
        allowed_clients: clients.length ? clients : ['-no-tier-'],
      };
    }

    const consumerAction = {
      request_headers: { header_name: CONSUMER_HEADER, descriptor_key: 'consumer' },
    };
    return {
      name: `${api.name}.${route.name}`,
      match: {
        safe_regex: { regex: patternRegex(route.path) },
        ...(methods.length
          ? {
              headers: [
                {
                  name: ':method',
                  string_match: { safe_regex: { regex: `^(${methods.join('|')})$` } },
                },
              ],
            }
          : {}),
      },
      route: {
        cluster: `tollgate_${api.name}`,
        rate_limits: [
          { actions: [consumerAction] },
          ...(quotas
            ? Object.values(QUOTA_UNITS).map((unit) => ({
                actions: [
                  { generic_key: { descriptor_key: 'window', descriptor_value: unit } },
                  consumerAction,
                ],
              }))
            : []),
        ],
      },
      typed_per_filter_config: perFilter,
    };
  });

  return { name: api.name, domains: [...api.hosts], routes };
}

function cluster(api: ApiDefinition, a: number, warnings: WarningList): Doc {
  if (api.upstream === undefined) {
    warnings.add(
      'upstream-missing',
      `apis[${a}].upstream`,
      `API "${api.name}" has no upstream; the cluster points at ${api.hosts[0]}`,
    );
  }
  const url = new URL(api.upstream ?? `http://${api.hosts[0]!.replace(/^\*\./, '')}`);
  const tls = url.protocol === 'https:';
  const port = Number(url.port || (tls ? 443 : 80));
  return {
    name: `tollgate_${api.name}`,
    type: 'STRICT_DNS',
    connect_timeout: '5s',
    load_assignment: {
      cluster_name: `tollgate_${api.name}`,
      endpoints: [
        {
          lb_endpoints: [
            {
              endpoint: {
                address: {
                  socket_address: {
                    address: url.hostname.replace(/^\[|\]$/g, ''),
                    port_value: port,
                  },
                },
              },
            },
          ],
        },
      ],
    },
    ...(tls
      ? {
          transport_socket: {
            name: 'envoy.transport_sockets.tls',
            typed_config: {
              '@type':
                'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
              sni: url.hostname,
            },
          },
        }
      : {}),
  };
}

function ratelimitCluster(): Doc {
  return {
    name: 'ratelimit',
    type: 'STRICT_DNS',
    connect_timeout: '1s',
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        explicit_http_config: { http2_protocol_options: {} },
      },
    },
    load_assignment: {
      cluster_name: 'ratelimit',
      endpoints: [
        {
          lb_endpoints: [
            {
              endpoint: { address: { socket_address: { address: 'ratelimit', port_value: 8081 } } },
            },
          ],
        },
      ],
    },
  };
}
