/**
 * A decK declarative file (services, routes, key-auth / jwt, acl, rate-limiting, and the
 * Enterprise consumer groups with rate-limiting-advanced) read back as a Tollgate policy, so a
 * team with a Kong gateway can simulate it. Whatever has no Tollgate counterpart is reported
 * with its place in the Kong file.
 */

import type { Period } from '../policies/schema.ts';
import { KONG_ANONYMOUS } from './kong.ts';
import { regexToPattern } from './path-regex.ts';
import { JWT_SECRET_PLACEHOLDER } from './tollgate.ts';
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

type LimitInput = {
  requests: number;
  per: Period;
  algorithm?: 'fixed-window' | 'sliding-window' | 'calendar';
};

const OSS_FIELDS: Period[] = ['second', 'minute', 'hour', 'day', 'month'];
const WINDOW_PERIODS = new Map<number, Period>([
  [1, 'second'],
  [60, 'minute'],
  [3600, 'hour'],
  [86_400, 'day'],
  [604_800, 'week'],
  [2_592_000, 'month'],
]);

export function importKong(text: string, source = 'kong.yaml'): ImportResult {
  const root = parseSource(text, source);
  if (!isMapping(root) || !Array.isArray(root.services)) {
    throw new ImportError(`${source}: expected a decK file with a "services" list`);
  }

  const { warnings, warn } = importWarnings('kong-import.dropped');

  const consumers = docs(root.consumers);
  const tierRoutes = new Map<string, string[]>();
  const openRoutes: string[] = [];
  let anonymousTier: string | undefined;
  const anonymous = consumers.find((c) => c.username === KONG_ANONYMOUS);
  if (anonymous) anonymousTier = docs(anonymous.acls)[0]?.group as string | undefined;

  const apis: ApiInput[] = docs(root.services).map((service, s) => {
    const at = `services[${s}]`;
    const name = String(service.name ?? `service-${s}`);
    const url = serviceUrl(service);
    const api: ApiInput = {
      name,
      hosts: [],
      ...(url ? { upstream: url } : {}),
      auth: [],
      routes: [],
    };

    for (const [p, plugin] of docs(service.plugins).entries()) {
      readAuthPlugin(plugin, api, consumers, `${at}.plugins[${p}]`, warn);
      if (plugin.name === 'key-auth' && plugin.config && (plugin.config as Doc).anonymous) {
        if (anonymousTier) api.anonymousTier = anonymousTier;
      }
    }

    for (const [r, route] of docs(service.routes).entries()) {
      const routeAt = `${at}.routes[${r}]`;
      const routeName = String(route.name ?? `route-${r}`).replace(`${name}-`, '');
      for (const host of strings(route.hosts))
        if (!api.hosts!.includes(host)) api.hosts!.push(host);

      const paths = strings(route.paths);
      if (paths.length > 1) warn(`${routeAt}.paths`, 'only the first path of a route is imported');
      const path = routePattern(paths[0] ?? '/', `${routeAt}.paths[0]`, warn);
      const methods = strings(route.methods);
      api.routes!.push({
        name: routeName,
        path,
        methods: (methods.length ? methods : ['*']) as ('GET' | '*')[],
      });

      const acl = docs(route.plugins).find((plugin) => plugin.name === 'acl');
      for (const [p, plugin] of docs(route.plugins).entries()) {
        if (plugin.name === 'acl') continue;
        warn(`${routeAt}.plugins[${p}]`, `plugin "${String(plugin.name)}" is not imported`);
      }
      const allow = acl ? strings((acl.config as Doc | undefined)?.allow) : undefined;
      if (acl && strings((acl.config as Doc | undefined)?.deny).length > 0) {
        warn(
          `${routeAt}.plugins`,
          'acl deny lists are not imported; the route is open to all tiers',
        );
      }
      const ref = `${name}.${routeName}`;
      if (allow === undefined || allow.length === 0) openRoutes.push(ref);
      for (const group of allow ?? [])
        tierRoutes.set(group, [...(tierRoutes.get(group) ?? []), ref]);
    }

    if (api.hosts!.length === 0) {
      const host = url ? new URL(url).hostname : `${name}.test`;
      warn(`${at}.routes`, `no route names a host; requests to "${host}" are governed`);
      api.hosts!.push(host);
    }
    return api;
  });

  // Tiers: every acl group named by a route or a consumer, with the limits its consumers carry.
  const groupOf = (consumer: Doc) =>
    (docs(consumer.acls)[0]?.group ?? docs(consumer.groups)[0]?.name) as string | undefined;
  const consumerGroups = consumers.map(groupOf).filter((g): g is string => g !== undefined);
  const tierNames = new Set([...tierRoutes.keys(), ...consumerGroups]);
  if (tierNames.size === 0) tierNames.add('default');

  const groupLimits = new Map<string, LimitInput[]>();
  for (const [g, group] of docs(root.consumer_groups).entries()) {
    for (const [p, plugin] of docs(group.plugins).entries()) {
      const limits = advancedLimits(plugin, `consumer_groups[${g}].plugins[${p}]`, warn);
      if (limits) groupLimits.set(String(group.name), limits);
    }
  }

  const tiers = [...tierNames].map((tierName) => {
    let limits = groupLimits.get(tierName);
    for (const [c, consumer] of consumers.entries()) {
      if (limits || groupOf(consumer) !== tierName) continue;
      const plugin = docs(consumer.plugins).find((p) => p.name === 'rate-limiting');
      if (plugin) limits = ossLimits(plugin, `consumers[${c}].plugins`, warn);
    }
    return {
      name: tierName,
      routes: [...(tierRoutes.get(tierName) ?? []), ...openRoutes],
      limits: named(tierName, limits ?? []),
    };
  });

  const policyConsumers = consumers
    .filter((consumer) => consumer.username !== KONG_ANONYMOUS)
    .map((consumer, c) => {
      const name = String(consumer.username ?? consumer.custom_id ?? `consumer-${c}`);
      let tier = groupOf(consumer);
      if (docs(consumer.acls).length > 1)
        warn(`consumers[${c}].acls`, `"${name}" keeps its first group only`);
      if (!tier) {
        tier = tiers[0]!.name;
        warn(`consumers[${c}]`, `"${name}" is in no acl group; placed in tier "${tier}"`);
      }
      const keys = docs(consumer.keyauth_credentials).map((cred) => String(cred.key));
      return { name, tier, keys };
    });

  return finishImport({ version: 1, apis, tiers, consumers: policyConsumers }, source, warnings);
}

function readAuthPlugin(
  plugin: Doc,
  api: ApiInput,
  consumers: Doc[],
  at: string,
  warn: ImportWarn,
) {
  const config = (plugin.config ?? {}) as Doc;
  if (plugin.name === 'key-auth') {
    const names = strings(config.key_names);
    const keyNames = names.length ? names : ['apikey'];
    const inHeader = config.key_in_header !== false;
    const inQuery = config.key_in_query !== false;
    api.auth!.push({
      type: 'apiKey',
      ...(inHeader ? { header: keyNames[0] } : {}),
      ...(inQuery ? { query: keyNames[1] ?? keyNames[0] } : {}),
    });
    if (keyNames.length > 2) warn(`${at}.config.key_names`, 'only two key names are imported');
    if (config.hide_credentials === false) api.keepCredentials = true;
  } else if (plugin.name === 'jwt') {
    const secret = consumers.flatMap((c) => docs(c.jwt_secrets)).find((s) => s.secret)?.secret;
    if (!secret)
      warn(at, `no consumer has a jwt secret; the secret is "${JWT_SECRET_PLACEHOLDER}"`);
    api.auth!.push({
      type: 'jwt',
      secret: typeof secret === 'string' ? secret : JWT_SECRET_PLACEHOLDER,
      consumerClaim: typeof config.key_claim_name === 'string' ? config.key_claim_name : 'iss',
      ...(strings(config.header_names)[0] ? { header: strings(config.header_names)[0] } : {}),
    });
  } else if (plugin.name !== 'acl') {
    warn(at, `plugin "${String(plugin.name)}" has no Tollgate counterpart`);
  }
}

/** Limits default to `<tier>-<per>` names; two windows of one period need their own. */
function named(tier: string, limits: LimitInput[]): (LimitInput & { name?: string })[] {
  return limits.map((limit, i) =>
    limits.some((other, j) => j !== i && other.per === limit.per)
      ? { name: `${tier}-${limit.per}-${i + 1}`, ...limit }
      : limit,
  );
}

function routePattern(path: string, at: string, warn: ImportWarn) {
  if (!path.startsWith('~')) {
    // A plain Kong path is a prefix match.
    return path === '/' ? '/**' : `${path.replace(/\/$/, '')}/**`;
  }
  const pattern = regexToPattern(path.slice(1));
  if (pattern) return pattern;
  warn(at, `regex path "${path}" is not a Tollgate pattern; imported as "/**"`);
  return '/**';
}

function ossLimits(plugin: Doc, at: string, warn: ImportWarn) {
  const config = (plugin.config ?? {}) as Doc;
  if (config.year !== undefined) warn(`${at}.config.year`, 'yearly limits have no Tollgate period');
  return OSS_FIELDS.filter((per) => typeof config[per] === 'number').map((per): LimitInput => ({
    requests: config[per] as number,
    per,
    algorithm: per === 'day' || per === 'month' ? 'calendar' : 'fixed-window',
  }));
}

function advancedLimits(plugin: Doc, at: string, warn: ImportWarn) {
  if (plugin.name !== 'rate-limiting-advanced') {
    warn(at, `plugin "${String(plugin.name)}" has no Tollgate counterpart`);
    return undefined;
  }
  const config = (plugin.config ?? {}) as Doc;
  const sliding = config.window_type !== 'fixed';
  const sizes = Array.isArray(config.window_size) ? (config.window_size as number[]) : [];
  const limits: LimitInput[] = [];
  for (const [i, requests] of (Array.isArray(config.limit)
    ? (config.limit as number[])
    : []
  ).entries()) {
    const per = WINDOW_PERIODS.get(sizes[i] ?? 0);
    if (!per) {
      warn(`${at}.config.window_size[${i}]`, `a ${sizes[i]} s window has no Tollgate period`);
      continue;
    }
    const calendar = per === 'day' || per === 'week' || per === 'month';
    limits.push({
      requests,
      per,
      algorithm: sliding ? 'sliding-window' : calendar ? 'calendar' : 'fixed-window',
    });
  }
  return limits;
}

function serviceUrl(service: Doc): string | undefined {
  if (typeof service.url === 'string') return service.url;
  if (typeof service.host !== 'string') return undefined;
  const protocol = typeof service.protocol === 'string' ? service.protocol : 'http';
  const port = typeof service.port === 'number' ? `:${service.port}` : '';
  const base = typeof service.path === 'string' ? service.path : '';
  return `${protocol}://${service.host}${port}${base}`;
}

function docs(value: unknown): Doc[] {
  return Array.isArray(value) ? value.filter(isMapping) : [];
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}
