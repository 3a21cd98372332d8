/**
 * Tyk (classic API definitions): an API definition per API, a security policy per tier
 * (rate/per, quota_max/quota_renewal_rate, access_rights with allowed_urls and methods), and,
 * only with `includeKeys`, the key sessions to create through Tyk's `/tyk/keys/{key}`.
 *
 * Guarantees: without `includeKeys` no key and no JWT secret is written; JWT-protected APIs
 * then carry an empty `jwt_source`, which Tyk treats as "no key", refusing every token.
 */

import type { ApiDefinition, Policy } from '../policies/schema.ts';
import {
  PERIOD_SECONDS,
  beginExport,
  explicitMethods,
  ratesAndQuotas,
  warnDropped,
  warnRouteCosts,
  type TierView,
} from './model.ts';
import { patternRegex } from './path-regex.ts';
import type { WarningList, ExportFile, ExportOptions, ExportResult } from './types.ts';

type Doc = Record<string, unknown>;

const ORG = 'default';
const VERSION = 'Default';

export function exportTyk(policy: Policy, options: ExportOptions = {}): ExportResult {
  const { warnings, views } = beginExport(policy, 'tyk', 'Tyk', options);

  const files: ExportFile[] = policy.apis.map((api, a) => ({
    name: `tyk/apis/${api.name}.json`,
    content: json(apiDefinition(policy, api, a, options, warnings)),
  }));

  const policies: Record<string, Doc> = {};
  for (const view of views) policies[view.tier.name] = securityPolicy(policy, view, warnings);
  files.push({ name: 'tyk/policies.json', content: json(policies) });

  if (options.includeKeys) {
    const sessions = policy.consumers.flatMap((consumer) =>
      consumer.keys.map((key) => ({
        key,
        session: {
          org_id: ORG,
          alias: consumer.name,
          apply_policies: [consumer.tier],
          meta_data: { tollgate_consumer: consumer.name, tollgate_tier: consumer.tier },
        },
      })),
    );
    files.push({ name: 'tyk/keys.json', content: json(sessions) });
  }
  return { files, warnings: warnings.items };
}

function apiDefinition(
  policy: Policy,
  api: ApiDefinition,
  a: number,
  options: ExportOptions,
  warnings: WarningList,
): Doc {
  if (api.hosts.length > 1) {
    warnings.add(
      'hosts-dropped',
      `apis[${a}].hosts`,
      `API "${api.name}": a Tyk API has one domain; kept ${api.hosts[0]}, dropped ` +
        api.hosts.slice(1).join(', '),
    );
  }

  const auth = api.auth[0];
  for (const [m, method] of api.auth.entries()) {
    if (m === 0) continue;
    warnings.add(
      'auth-dropped',
      `apis[${a}].auth[${m}]`,
      `API "${api.name}" accepts either of several methods; Tyk chains its auth methods (all ` +
        `must pass), so only the first (${auth!.type}) is exported and ${method.type} is dropped`,
    );
  }

  const definition: Doc = {
    name: api.name,
    api_id: api.name,
    org_id: ORG,
    slug: api.name,
    active: true,
    domain: api.hosts[0],
    use_keyless: api.auth.length === 0,
    strip_auth_data: !api.keepCredentials,
    proxy: {
      listen_path: '/',
      target_url: api.upstream ?? `http://${api.hosts[0]!.replace(/^\*\./, '')}`,
      strip_listen_path: false,
    },
    version_data: {
      not_versioned: true,
      default_version: VERSION,
      versions: {
        [VERSION]: {
          name: VERSION,
          use_extended_paths: true,
          global_headers: forwardHeaders(policy),
        },
      },
    },
  };

  if (auth?.type === 'apiKey') {
    const tokenAuth = {
      auth_header_name: auth.header ?? 'authorization',
      use_param: auth.query !== undefined,
      param_name: auth.query ?? '',
      use_cookie: false,
    };
    Object.assign(definition, {
      use_standard_auth: true,
      auth: tokenAuth,
      auth_configs: { authToken: tokenAuth },
    });
  } else if (auth?.type === 'jwt') {
    const secret = auth.secret ?? auth.publicKey ?? '';
    Object.assign(definition, {
      enable_jwt: true,
      jwt_signing_method: auth.secret !== undefined ? 'hmac' : 'rsa',
      jwt_source: options.includeKeys ? Buffer.from(secret).toString('base64') : '',
      jwt_identity_base_field: auth.consumerClaim,
      jwt_policy_field_name: auth.tierClaim ?? '',
      auth_configs: { jwt: { auth_header_name: auth.header } },
    });
    if (auth.issuer !== undefined || auth.audience !== undefined) {
      warnings.add(
        'jwt-claims-unchecked',
        `apis[${a}].auth[0]`,
        `API "${api.name}": Tyk's JWT middleware does not check the issuer or audience`,
      );
    }
  } else if (auth?.type === 'mtls') {
    Object.assign(definition, { use_mutual_tls_auth: true, client_certificates: [] });
    warnings.add(
      'mtls-certificates-empty',
      `apis[${a}].auth[0]`,
      `API "${api.name}": Tyk wants the client certificates uploaded to its store; ` +
        'the list is empty',
    );
  }

  warnRouteCosts(api, a, warnings, 'Tyk counts each request once');
  return definition;
}

/** Session metadata carries the names, so the upstream can be told who called. */
function forwardHeaders(policy: Policy): Record<string, string> {
  const headers: Record<string, string> = {};
  if (policy.forwardHeaders.consumer) {
    headers[policy.forwardHeaders.consumer] = '$tyk_meta.tollgate_consumer';
  }
  if (policy.forwardHeaders.tier) headers[policy.forwardHeaders.tier] = '$tyk_meta.tollgate_tier';
  return headers;
}

function securityPolicy(policy: Policy, view: TierView, warnings: WarningList): Doc {
  const accessRights: Record<string, Doc> = {};
  for (const api of policy.apis) {
    const routes = api.routes.filter((route) => view.routeKeys.has(`${api.name}.${route.name}`));
    if (routes.length === 0) continue;
    accessRights[api.name] = {
      api_id: api.name,
      api_name: api.name,
      versions: [VERSION],
      allowed_urls: routes.map((route) => ({
        url: patternRegex(route.path),
        methods: explicitMethods(route),
      })),
    };
  }

  return {
    id: view.tier.name,
    name: view.tier.name,
    org_id: ORG,
    active: true,
    state: 'active',
    ...tierLimits(policy, view, warnings),
    throttle_interval: -1,
    throttle_retry_limit: -1,
    access_rights: accessRights,
    partitions: { quota: false, rate_limit: false, acl: false, per_api: false },
    tags: [`tollgate:tier:${view.tier.name}`],
  };
}

/** A policy holds one rate and one quota; the strictest of each is kept. */
function tierLimits(policy: Policy, view: TierView, warnings: WarningList): Doc {
  const { rates, quotas } = ratesAndQuotas(view);
  const [rate, ...otherRates] = rates;
  const [quota, ...otherQuotas] = quotas;

  const result: Doc = { rate: -1, per: -1, quota_max: -1, quota_renewal_rate: -1 };
  if (rate) {
    const { limit, at, what } = rate;
    Object.assign(result, { rate: limit.requests, per: PERIOD_SECONDS[limit.per] });
    if (limit.algorithm !== 'sliding-window') {
      warnings.add(
        'algorithm-approximated',
        `${at}.algorithm`,
        `${what}: Tyk's rate limiter is a sliding window of ${limit.requests} per ` +
          `${PERIOD_SECONDS[limit.per]} s`,
      );
    }
    if (limit.burst > 0) {
      warnings.add('burst-dropped', `${at}.burst`, `${what}: Tyk's rate has no burst; dropped`);
    }
  }
  warnDropped(
    otherRates,
    warnings,
    'rate-dropped',
    'a Tyk policy has one rate; kept the stricter one',
  );

  if (quota) {
    const { limit, at, what } = quota;
    Object.assign(result, {
      quota_max: limit.requests,
      quota_renewal_rate: PERIOD_SECONDS[limit.per],
    });
    warnings.add(
      'quota-not-calendar',
      `${at}.algorithm`,
      `${what}: Tyk renews a quota ${PERIOD_SECONDS[limit.per]} s after it starts counting, ` +
        `not at the ${limit.per}'s boundary in ${policy.timezone}`,
    );
  }
  warnDropped(
    otherQuotas,
    warnings,
    'quota-dropped',
    'a Tyk policy has one quota; kept the stricter one',
  );
  return result;
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}
