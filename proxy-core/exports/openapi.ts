/**
 * OpenAPI 3.1, one document per API: the governed routes as operations with their security
 * schemes, the 401/403/429 answers Tollgate gives (problem+json bodies, WWW-Authenticate,
 * Retry-After and the rate-limit headers of the policy's style), and the tiers and limits as
 * `x-tollgate-*` extensions so the document can be imported back into the same policy.
 */

import YAML from 'yaml';
import { resolveRouteRef } from '../policies/references.ts';
import type { ApiDefinition, Policy, RateLimitHeaderStyle, Tier } from '../policies/schema.ts';
import { tierViews, tiersEntitledTo, warnUnsupportedFeatures } from './model.ts';
import { WarningList, type ExportOptions, type ExportResult } from './types.ts';

type Doc = Record<string, unknown>;

const PROBLEM_REF = { $ref: '#/components/schemas/Problem' };

export function exportOpenApi(policy: Policy, _options: ExportOptions = {}): ExportResult {
  const warnings = new WarningList('openapi');
  warnUnsupportedFeatures(policy, warnings, 'OpenAPI', {
    roles: true,
    adaptive: true,
    anonymousTier: true,
    limitRoutes: true,
    scopes: true,
  });

  const files = policy.apis.map((api, a) => {
    const document = apiDocument(policy, api, a, warnings);
    return {
      name: `openapi/${api.name}.yaml`,
      content: YAML.stringify(document, { lineWidth: 0, aliasDuplicateObjects: false }),
    };
  });
  return { files, warnings: warnings.items };
}

function apiDocument(policy: Policy, api: ApiDefinition, apiIndex: number, warnings: WarningList) {
  const views = tierViews(policy);
  const style = api.rateLimitHeaders ?? policy.rateLimitHeaders;
  const schemes = securitySchemes(api, apiIndex, warnings);
  const paths: Record<string, Doc> = {};

  for (const [r, route] of api.routes.entries()) {
    const { template, params } = openApiPath(route.path);
    if (route.path.includes('**')) {
      warnings.add(
        'multi-segment-path',
        `apis[${apiIndex}].routes[${r}].path`,
        `route "${api.name}.${route.name}" matches any number of segments at "**"; an OpenAPI ` +
          `path parameter is one segment, so ${template} documents one (x-tollgate-path keeps it)`,
      );
    }
    const methods = route.methods.includes('*')
      ? ['get', 'head', 'post', 'put', 'patch', 'delete', 'options']
      : route.methods.map((method) => method.toLowerCase());
    const item = (paths[template] ??= {});
    for (const method of methods) {
      item[method] = {
        operationId: methods.length === 1 ? route.name : `${route.name}-${method}`,
        summary: `${api.name}.${route.name}`,
        ...(params.length
          ? {
              parameters: params.map((name) => ({
                name,
                in: 'path',
                required: true,
                schema: { type: 'string' },
              })),
            }
          : {}),
        responses: {
          '200': { description: "The upstream's answer.", headers: limitHeaders(style) },
          '401': { $ref: '#/components/responses/Unauthorized' },
          '403': { $ref: '#/components/responses/Forbidden' },
          '429': { $ref: '#/components/responses/TooManyRequests' },
        },
        'x-tollgate-route': route.name,
        'x-tollgate-path': route.path,
        'x-tollgate-methods': route.methods,
        'x-tollgate-tiers': tiersEntitledTo(views, api, route),
        ...(route.cost !== 1 ? { 'x-tollgate-cost': route.cost } : {}),
        ...(route.roles.length ? { 'x-tollgate-roles': route.roles } : {}),
      };
    }
  }

  const servers = api.hosts.map((host) =>
    host.startsWith('*.')
      ? {
          url: `https://{subdomain}.${host.slice(2)}`,
          variables: { subdomain: { default: 'api' } },
        }
      : { url: `https://${host}` },
  );

  return {
    openapi: '3.1.0',
    info: {
      title: api.name,
      version: String(policy.version),
      description: `Routes of "${api.name}" as Tollgate governs them.`,
    },
    servers,
    ...(Object.keys(schemes).length
      ? { security: Object.keys(schemes).map((name) => ({ [name]: [] })) }
      : {}),
    paths,
    components: {
      ...(Object.keys(schemes).length ? { securitySchemes: schemes } : {}),
      schemas: { Problem: problemSchema() },
      headers: headerComponents(),
      responses: {
        Unauthorized: problemResponse('Missing or invalid credentials.', {
          'WWW-Authenticate': { $ref: '#/components/headers/WWW-Authenticate' },
        }),
        Forbidden: problemResponse('The route is outside the caller\u2019s tier.', {}),
        TooManyRequests: problemResponse('A limit or quota is exhausted.', {
          'Retry-After': { $ref: '#/components/headers/Retry-After' },
          ...limitHeaders(style),
        }),
      },
    },
    'x-tollgate-api': api.name,
    ...(api.upstream ? { 'x-tollgate-upstream': api.upstream } : {}),
    ...(api.anonymousTier ? { 'x-tollgate-anonymous-tier': api.anonymousTier } : {}),
    'x-tollgate-tiers': tiersForApi(policy, api),
  };
}

/**
 * The tiers as this API's document can hold them: route references to other APIs would not
 * resolve when the document is imported alone, so they are narrowed to this API's routes.
 */
function tiersForApi(policy: Policy, api: ApiDefinition): Tier[] {
  const narrow = (refs: readonly string[]) =>
    refs.flatMap((ref) => {
      const keys = resolveRouteRef(policy, ref);
      const own = keys.filter((key) => key.startsWith(`${api.name}.`));
      return own.length === keys.length ? (own.length ? [ref] : []) : own;
    });
  return policy.tiers.map((tier) => ({
    ...tier,
    routes: narrow(tier.routes),
    limits: tier.limits.flatMap((limit) => {
      if (limit.routes === undefined) return [limit];
      const routes = narrow(limit.routes);
      return routes.length ? [{ ...limit, routes }] : [];
    }),
  }));
}

/** `/v1/forecast/*` → `/v1/forecast/{p1}`; `**` also becomes one parameter. */
export function openApiPath(pattern: string): { template: string; params: string[] } {
  const params: string[] = [];
  const template = pattern
    .split('/')
    .map((segment) => {
      if (segment !== '*' && segment !== '**') return segment;
      params.push(`p${params.length + 1}`);
      return `{p${params.length}}`;
    })
    .join('/');
  return { template, params };
}

function securitySchemes(api: ApiDefinition, apiIndex: number, warnings: WarningList) {
  const schemes: Record<string, Doc> = {};
  // Scheme names repeat only when an API lists two methods of one kind.
  const named = (base: string) => {
    let name = base;
    for (let n = 2; schemes[name]; n++) name = `${base}${n}`;
    return name;
  };
  for (const [m, method] of api.auth.entries()) {
    if (method.type === 'apiKey') {
      if (method.header) {
        schemes[named('apiKeyHeader')] = { type: 'apiKey', in: 'header', name: method.header };
      }
      if (method.query) {
        schemes[named('apiKeyQuery')] = { type: 'apiKey', in: 'query', name: method.query };
      }
    } else if (method.type === 'jwt') {
      if (method.header !== 'authorization') {
        warnings.add(
          'jwt-header-undocumented',
          `apis[${apiIndex}].auth[${m}].header`,
          `API "${api.name}" reads the bearer token from "${method.header}"; OpenAPI's bearer ` +
            'scheme documents the Authorization header',
        );
      }
      schemes[named('jwt')] = {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        ...(method.issuer ? { 'x-tollgate-issuer': method.issuer } : {}),
        ...(method.audience ? { 'x-tollgate-audience': method.audience } : {}),
        'x-tollgate-consumer-claim': method.consumerClaim,
        ...(method.tierClaim ? { 'x-tollgate-tier-claim': method.tierClaim } : {}),
      };
    } else {
      schemes[named('mutualTLS')] = { type: 'mutualTLS', 'x-tollgate-match': method.match };
    }
  }
  return schemes;
}

function limitHeaders(style: RateLimitHeaderStyle): Record<string, Doc> {
  const ref = (name: string) => ({ $ref: `#/components/headers/${name}` });
  const ietf = { RateLimit: ref('RateLimit'), 'RateLimit-Policy': ref('RateLimit-Policy') };
  const x = {
    'X-RateLimit-Limit': ref('X-RateLimit-Limit'),
    'X-RateLimit-Remaining': ref('X-RateLimit-Remaining'),
    'X-RateLimit-Reset': ref('X-RateLimit-Reset'),
  };
  if (style === 'ietf') return ietf;
  if (style === 'x-ratelimit' || style === 'kong') return x;
  if (style === 'ietf+x') return { ...ietf, ...x };
  return {};
}

function headerComponents(): Record<string, Doc> {
  const header = (description: string, type: 'string' | 'integer') => ({
    description,
    schema: { type },
  });
  return {
    'WWW-Authenticate': header('The credential the API expects.', 'string'),
    'Retry-After': header('Seconds until the refused request may be retried.', 'integer'),
    RateLimit: header(
      'Remaining quota and reset (draft-ietf-httpapi-ratelimit-headers).',
      'string',
    ),
    'RateLimit-Policy': header(
      'The limits that apply (draft-ietf-httpapi-ratelimit-headers).',
      'string',
    ),
    'X-RateLimit-Limit': header('Requests allowed in the current window.', 'integer'),
    'X-RateLimit-Remaining': header('Requests left in the current window.', 'integer'),
    'X-RateLimit-Reset': header('Seconds until the window resets.', 'integer'),
  };
}

function problemSchema(): Doc {
  return {
    type: 'object',
    description: 'RFC 9457 problem details, with the consumer, tier and limit when known.',
    required: ['type', 'title', 'status', 'code'],
    properties: {
      type: { type: 'string', format: 'uri' },
      title: { type: 'string' },
      status: { type: 'integer' },
      detail: { type: 'string' },
      code: { type: 'string' },
      consumer: { type: 'string' },
      tier: { type: 'string' },
      limit: { type: 'string' },
    },
  };
}

function problemResponse(description: string, headers: Record<string, Doc>): Doc {
  return {
    description,
    ...(Object.keys(headers).length ? { headers } : {}),
    content: { 'application/problem+json': { schema: PROBLEM_REF } },
  };
}
