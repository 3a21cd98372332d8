/**
 * An OpenAPI 3.x document read as one Tollgate API: its servers become hosts, its security
 * schemes auth methods, and each operation a route (`{param}` segments become `*`). A document
 * that Tollgate exported carries `x-tollgate-*` extensions, which restore what OpenAPI cannot
 * say (`**` paths, costs, tiers and limits).
 */

import {
  finishImport,
  ImportError,
  importWarnings,
  isMapping,
  parseSource,
  type ApiInput,
  type ImportDoc as Doc,
  type ImportResult,
  type ImportWarn,
} from './import-result.ts';
import { JWT_SECRET_PLACEHOLDER } from './tollgate.ts';

type RouteInput = ApiInput['routes'][number];
type AuthInput = NonNullable<ApiInput['auth']>[number];

const METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete', 'options'];

export function importOpenApi(text: string, source = 'openapi.yaml'): ImportResult {
  const root = parseSource(text, source);
  if (!isMapping(root) || typeof root.openapi !== 'string' || !root.openapi.startsWith('3.')) {
    throw new ImportError(`${source}: expected an OpenAPI 3.x document (an "openapi: 3.x" field)`);
  }
  if (!isMapping(root.paths) || Object.keys(root.paths).length === 0) {
    throw new ImportError(`${source}: paths: the document has no operations to govern`);
  }

  const { warnings, warn } = importWarnings('openapi-import.dropped');

  const info = isMapping(root.info) ? root.info : {};
  const name =
    typeof root['x-tollgate-api'] === 'string'
      ? root['x-tollgate-api']
      : slug(typeof info.title === 'string' ? info.title : 'api');

  const api: ApiInput = {
    name,
    hosts: hosts(root, name, warn),
    ...(typeof root['x-tollgate-upstream'] === 'string'
      ? { upstream: root['x-tollgate-upstream'] }
      : {}),
    auth: authMethods(root, warn),
    ...(typeof root['x-tollgate-anonymous-tier'] === 'string'
      ? { anonymousTier: root['x-tollgate-anonymous-tier'] }
      : {}),
    routes: routes(root.paths, warn),
  };

  const tiers = Array.isArray(root['x-tollgate-tiers']) ? root['x-tollgate-tiers'] : [];
  return finishImport({ version: 1, apis: [api], tiers }, source, warnings);
}

function hosts(root: Doc, name: string, warn: ImportWarn) {
  const found: string[] = [];
  for (const [s, server] of (Array.isArray(root.servers) ? root.servers : []).entries()) {
    if (!isMapping(server) || typeof server.url !== 'string') continue;
    // `{subdomain}.example.test` is every subdomain, as a `*.` host pattern says.
    const url = server.url.replace(/^(https?:\/\/)?\{[^}]+\}\./, '$1wildcard-host.');
    try {
      const host = new URL(url).hostname.replace(/^wildcard-host\./, '*.');
      if (!found.includes(host)) found.push(host);
    } catch {
      warn(`servers[${s}].url`, `"${server.url}" names no host (a relative server URL)`);
    }
  }
  if (found.length === 0) {
    const host = `${name}.test`;
    warn('servers', `no server names a host; requests to "${host}" are governed`);
    found.push(host);
  }
  return found;
}

function authMethods(root: Doc, warn: ImportWarn): AuthInput[] {
  const components = isMapping(root.components) ? root.components : {};
  const schemes = isMapping(components.securitySchemes) ? components.securitySchemes : {};
  const methods: AuthInput[] = [];
  let apiKey: Extract<AuthInput, { type: 'apiKey' }> | undefined;

  for (const [schemeName, scheme] of Object.entries(schemes)) {
    const at = `components.securitySchemes.${schemeName}`;
    if (!isMapping(scheme)) continue;
    if (scheme.type === 'apiKey' && (scheme.in === 'header' || scheme.in === 'query')) {
      const field = scheme.in === 'header' ? 'header' : 'query';
      if (!apiKey || apiKey[field] !== undefined) {
        apiKey = { type: 'apiKey' };
        methods.push(apiKey);
      }
      apiKey[field] = String(scheme.name);
    } else if (scheme.type === 'http' && String(scheme.scheme).toLowerCase() === 'bearer') {
      warn(at, `a bearer scheme carries no key; the JWT secret is "${JWT_SECRET_PLACEHOLDER}"`);
      methods.push({
        type: 'jwt',
        secret: JWT_SECRET_PLACEHOLDER,
        ...optionalString('issuer', scheme['x-tollgate-issuer']),
        ...optionalString('audience', scheme['x-tollgate-audience']),
        ...optionalString('consumerClaim', scheme['x-tollgate-consumer-claim']),
        ...optionalString('tierClaim', scheme['x-tollgate-tier-claim']),
      });
    } else if (scheme.type === 'mutualTLS') {
      const match = scheme['x-tollgate-match'] === 'subject' ? 'subject' : 'fingerprint256';
      methods.push({ type: 'mtls', match });
    } else {
      warn(at, `security scheme type "${String(scheme.type)}" has no Tollgate counterpart`);
    }
  }
  return methods;
}

function routes(paths: Doc, warn: ImportWarn): RouteInput[] {
  const byName = new Map<string, RouteInput>();
  for (const [template, item] of Object.entries(paths)) {
    if (!isMapping(item)) continue;
    for (const method of METHODS) {
      const operation = item[method];
      if (!isMapping(operation)) continue;
      const at = `paths.${template}.${method}`;

      const name =
        typeof operation['x-tollgate-route'] === 'string'
          ? operation['x-tollgate-route']
          : slug(
              typeof operation.operationId === 'string'
                ? operation.operationId
                : `${method}${template}`,
            );
      const path =
        typeof operation['x-tollgate-path'] === 'string'
          ? operation['x-tollgate-path']
          : template.replace(/\{[^}]+\}/g, '*');
      if (/[^/]\*|\*[^/]/.test(path))
        warn(at, `"${template}" mixes parameters with text in a segment`);

      const existing = byName.get(name);
      if (existing) {
        if (existing.path !== path)
          warn(at, `operation name "${name}" repeats on another path; kept the first`);
        else if (!existing.methods!.includes('*'))
          existing.methods!.push(method.toUpperCase() as 'GET');
        continue;
      }
      const methods = operation['x-tollgate-methods'];
      byName.set(name, {
        name,
        path,
        methods: Array.isArray(methods) ? (methods as 'GET'[]) : [method.toUpperCase() as 'GET'],
        ...(typeof operation['x-tollgate-cost'] === 'number'
          ? { cost: operation['x-tollgate-cost'] }
          : {}),
        ...(Array.isArray(operation['x-tollgate-roles'])
          ? { roles: operation['x-tollgate-roles'] as string[] }
          : {}),
      });
    }
  }
  return [...byName.values()];
}

function optionalString(field: string, value: unknown): Record<string, string> {
  return typeof value === 'string' ? { [field]: value } : {};
}

/** Route and API names are identifiers: letters, digits, `-` and `_`. */
function slug(text: string): string {
  const cleaned = text
    .replace(/[{}]/g, '')
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/^[-_]+|-+$/g, '');
  return (cleaned || 'route').slice(0, 100);
}
