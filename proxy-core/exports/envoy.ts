/**
 * Envoy (v3 static configuration): a virtual host per API with one route per Tollgate route,
 * api_key_auth (or jwt_authn) identifying the consumer, per-route allowed clients for the tier
 * entitlements, local_ratelimit token buckets per consumer for second/minute/hour limits, and
 * the envoyproxy/ratelimit service's descriptor file for day and month quotas.
 *
 * Guarantees: without `includeKeys` the api_key_auth filter gets no credentials, so no key is
 * accepted (every request gets 401) until the user fills real ones in; JWT keys are then read
 * from a JWKS file the user provides.
 */

import YAML from 'yaml';
import type { ApiDefinition, JwtAuth, Policy } from '../policies/schema.ts';
import {
  beginExport,
  tiersEntitledTo,
  warnRouteCosts,
  warnTiersWithoutConsumers,
  type TierView,
} from './model.ts';
import { ratelimitCluster, upstreamCluster } from './envoy-clusters.ts';
import { QUOTA_UNITS, localBuckets, quotaDescriptors, type Bucket } from './envoy-limits.ts';
import { patternRegex } from './path-regex.ts';
import type { WarningList, ExportOptions, ExportResult } from './types.ts';

type Doc = Record<string, unknown>;

const TYPE = 'type.googleapis.com/envoy.extensions.filters.http';
const HCM_TYPE =
  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.' +
  'HttpConnectionManager';
const DOMAIN = 'tollgate';
/** Set by api_key_auth / jwt_authn from the verified credential, never from the client. */
const CONSUMER_HEADER = 'x-tollgate-consumer';

export function exportEnvoy(policy: Policy, options: ExportOptions = {}): ExportResult {
  const { warnings, views } = beginExport(policy, 'envoy', 'Envoy', options);

  const buckets = localBuckets(views, warnings);
  warnTiersWithoutConsumers(views, warnings, 'Envoy');
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
                    '@type': HCM_TYPE,
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
        ...policy.apis.map((api, a) => upstreamCluster(api, a, warnings)),
        ...(quotas.length > 0 ? [ratelimitCluster()] : []),
      ],
    },
  };

  const envoyDoc = new YAML.Document(config, { aliasDuplicateObjects: false });
  if (keyAuth && !options.includeKeys) {
    envoyDoc.commentBefore =
      ' Keys are not exported: add api_key_auth credentials ({ key, client: <consumer> })\n' +
      ' before loading this file; without them every request gets 401.';
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

  warnRouteCosts(api, a, warnings, 'Envoy counts each request once');
  const routes = api.routes.map((route) => {
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
