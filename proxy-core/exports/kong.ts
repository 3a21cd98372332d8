/**
 * Kong, as a decK declarative file (`_format_version: "3.0"`): a service per API, a route per
 * Tollgate route guarded by an `acl` plugin listing the entitled tiers, key-auth / jwt plugins
 * on the service, and the tier limits either as `rate-limiting` on each consumer (open source)
 * or as `rate-limiting-advanced` on a consumer group per tier (Enterprise).
 *
 * Guarantees: without `includeKeys` no key-auth credential or JWT secret is written, so the
 * consumers exist but cannot authenticate until the user adds their credentials.
 */

import YAML from 'yaml';
import type { ApiDefinition, Policy } from '../policies/schema.ts';
import {
  beginExport,
  tiersEntitledTo,
  warnRouteCosts,
  warnTiersWithoutConsumers,
  type TierView,
} from './model.ts';
import { advancedLimits, ossLimits, warnTimezone, type KongPlugin } from './kong-limits.ts';
import { patternRegex } from './path-regex.ts';
import type { WarningList, ExportOptions, ExportResult } from './types.ts';

/** Consumer that unauthenticated requests become when several auth plugins must be OR-ed. */
export const KONG_ANONYMOUS = 'tollgate-anonymous';

type Plugin = KongPlugin;
type Doc = Record<string, unknown>;

export function exportKong(policy: Policy, options: ExportOptions = {}): ExportResult {
  const support = { anonymousTier: true };
  const { warnings, views } = beginExport(policy, 'kong', 'Kong', options, support);
  const edition = options.kongEdition ?? 'oss';

  const anonymousTiers = new Set<string>();
  const services = policy.apis.map((api, a) => {
    const needsAnonymous = api.auth.length > 1 || api.anonymousTier !== undefined;
    if (api.anonymousTier) anonymousTiers.add(api.anonymousTier);
    return service(api, a, views, needsAnonymous, warnings);
  });

  for (const [a, api] of policy.apis.entries()) {
    warnRouteCosts(api, a, warnings, "Kong's rate limiting plugins count each request once");
  }

  const consumers: Doc[] = policy.consumers.map((consumer) => {
    const doc: Doc = { username: consumer.name };
    if (options.includeKeys && consumer.keys.length > 0) {
      doc.keyauth_credentials = consumer.keys.map((key) => ({ key }));
    }
    const jwtSecrets = options.includeKeys ? jwtCredentials(policy, consumer.name) : [];
    if (jwtSecrets.length > 0) doc.jwt_secrets = jwtSecrets;
    doc.acls = [{ group: consumer.tier }];
    return doc;
  });
  if (policy.apis.some((api) => api.auth.length > 1 || api.anonymousTier !== undefined)) {
    const groups = [...anonymousTiers].map((group) => ({ group }));
    consumers.push({ username: KONG_ANONYMOUS, ...(groups.length ? { acls: groups } : {}) });
  }

  // The anonymous consumer counts against the anonymous tier's limits, like any consumer.
  const tierOf = (consumer: Doc) =>
    consumer.username === KONG_ANONYMOUS
      ? [...anonymousTiers][0]
      : policy.consumers.find((c) => c.name === consumer.username)?.tier;

  const document: Doc = { _format_version: '3.0', services, consumers };
  if (edition === 'enterprise') {
    document.consumer_groups = views
      .filter((view) => view.tier.limits.length > 0)
      .map((view) => ({ name: view.tier.name, plugins: [advancedLimits(view, warnings)] }));
    for (const consumer of consumers) {
      const tier = tierOf(consumer);
      if (tier) consumer.groups = [{ name: tier }];
    }
    // Consumers in a tier without limits point at no group; keep the file referentially whole.
    const named = new Set((document.consumer_groups as Doc[]).map((group) => group.name));
    for (const consumer of consumers) {
      const groups = consumer.groups as { name: string }[] | undefined;
      if (groups && !named.has(groups[0]!.name)) delete consumer.groups;
    }
  } else {
    for (const consumer of consumers) {
      const view = views.find((v) => v.tier.name === tierOf(consumer));
      const plugin = view ? ossLimits(view, warnings) : undefined;
      if (plugin) consumer.plugins = [plugin];
    }
    warnTimezone(policy, warnings);
    warnTiersWithoutConsumers(views, warnings, "Kong's rate-limiting", anonymousTiers);
  }

  const content = YAML.stringify(document, { lineWidth: 0, aliasDuplicateObjects: false });
  return { files: [{ name: 'kong/kong.yaml', content }], warnings: warnings.items };
}

function service(
  api: ApiDefinition,
  apiIndex: number,
  views: readonly TierView[],
  needsAnonymous: boolean,
  warnings: WarningList,
): Doc {
  let url = api.upstream;
  if (url === undefined) {
    url = `http://${api.hosts[0]!.replace(/^\*\./, '')}`;
    warnings.add(
      'upstream-missing',
      `apis[${apiIndex}].upstream`,
      `API "${api.name}" has no upstream; Kong needs one, so the service points at ${url}`,
    );
  }

  const plugins: Plugin[] = [];
  for (const [m, method] of api.auth.entries()) {
    const at = `apis[${apiIndex}].auth[${m}]`;
    const anonymous = needsAnonymous ? { anonymous: KONG_ANONYMOUS } : {};
    if (method.type === 'apiKey') {
      plugins.push({
        name: 'key-auth',
        config: {
          key_names: [method.header, method.query].filter((name) => name !== undefined),
          key_in_header: method.header !== undefined,
          key_in_query: method.query !== undefined,
          key_in_body: false,
          hide_credentials: !api.keepCredentials,
          ...anonymous,
        },
      });
    } else if (method.type === 'jwt') {
      plugins.push({
        name: 'jwt',
        config: {
          key_claim_name: method.consumerClaim,
          claims_to_verify: ['exp', 'nbf'],
          header_names: [method.header],
          uri_param_names: [],
          ...anonymous,
        },
      });
      warnJwt(api, method, at, warnings);
    } else {
      warnings.add(
        'mtls-dropped',
        at,
        `API "${api.name}" identifies consumers by client certificate; Kong's mtls-auth is an ` +
          'Enterprise plugin with its own CA setup, so it is not exported',
      );
    }
  }
  if (api.auth.length > 1 && api.anonymousTier === undefined) {
    warnings.add(
      'auth-anonymous-403',
      `apis[${apiIndex}].auth`,
      `API "${api.name}" accepts either of ${api.auth.length} methods; Kong needs an anonymous ` +
        `consumer ("${KONG_ANONYMOUS}") to accept either, so a request without credentials gets ` +
        '403 from the acl plugin instead of 401',
    );
  }

  const routes = api.routes.map((route) => {
    const allow = tiersEntitledTo(views, api, route);
    const doc: Doc = {
      name: `${api.name}-${route.name}`,
      hosts: [...api.hosts],
      paths: [`~${patternRegex(route.path).slice(1)}`],
      strip_path: false,
    };
    if (!route.methods.includes('*')) doc.methods = [...route.methods];
    doc.plugins = [
      allow.length > 0
        ? { name: 'acl', config: { allow, hide_groups_header: true } }
        : { name: 'request-termination', config: { status_code: 403, message: 'No tier' } },
    ];
    return doc;
  });

  return { name: api.name, url, routes, plugins };
}

function warnJwt(
  api: ApiDefinition,
  method: Extract<ApiDefinition['auth'][number], { type: 'jwt' }>,
  at: string,
  warnings: WarningList,
) {
  const unchecked = [
    method.issuer !== undefined ? `issuer "${method.issuer}"` : undefined,
    method.audience !== undefined ? `audience "${method.audience}"` : undefined,
  ].filter((text) => text !== undefined);
  if (unchecked.length > 0) {
    warnings.add(
      'jwt-claims-unchecked',
      at,
      `API "${api.name}": Kong's jwt plugin checks exp and nbf only; ${unchecked.join(' and ')} ` +
        'not verified',
    );
  }
  if (method.tierClaim !== undefined) {
    warnings.add(
      'jwt-tier-claim-dropped',
      `${at}.tierClaim`,
      `API "${api.name}" takes the tier from claim "${method.tierClaim}"; Kong takes it from the ` +
        "consumer's acl group",
    );
  }
  if (method.jwksFile !== undefined) {
    warnings.add(
      'jwks-dropped',
      `${at}.jwksFile`,
      `API "${api.name}" reads keys from a JWKS file; Kong's jwt plugin wants one key per ` +
        'consumer credential, so none is exported',
    );
  }
}

/** One jwt credential per consumer, keyed by the consumer's name as its claim carries it. */
function jwtCredentials(policy: Policy, consumer: string): Doc[] {
  const methods = policy.apis.flatMap((api) => api.auth).filter((m) => m.type === 'jwt');
  const seen = new Set<string>();
  const credentials: Doc[] = [];
  for (const method of methods) {
    if (method.secret !== undefined && !seen.has('secret')) {
      seen.add('secret');
      const algorithm = method.algorithms?.find((alg) => alg.startsWith('HS')) ?? 'HS256';
      credentials.push({ key: consumer, algorithm, secret: method.secret });
    } else if (method.publicKey !== undefined && !seen.has('public')) {
      seen.add('public');
      const algorithm = method.algorithms?.find((alg) => !alg.startsWith('HS')) ?? 'RS256';
      credentials.push({ key: consumer, algorithm, rsa_public_key: method.publicKey });
    }
  }
  return credentials;
}
