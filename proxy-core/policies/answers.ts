/**
 * The answers the engine gives on the upstream's behalf, as gateways give them: 401 with a
 * `WWW-Authenticate` challenge, 403, 404 for a governed host without a matching route, 429 with
 * `Retry-After`, and injected faults. Bodies are problem+json naming consumer, tier, limit and
 * reset. Guarantee: no credential (key, token, certificate) is ever put in a body or header.
 */

import type { ExchangeAnnotations, RefusalReason } from '../contract/traffic.ts';
import type { RespondVerdict } from '../server/exchange.ts';
import { problemResponse, type ProblemDetails } from '../util/problem.ts';
import type { CompiledApi } from './compile.ts';

export function respond(
  problem: ProblemDetails,
  annotations: ExchangeAnnotations,
  extraHeaders?: Record<string, string>,
): RespondVerdict {
  const { status, headers, body } = problemResponse(problem);
  return {
    kind: 'respond',
    status,
    headers: extraHeaders ? { ...headers, ...extraHeaders } : headers,
    body,
    annotations,
  };
}

/** Challenges for every method the API accepts, so a client learns what to send. */
export function challenges(api: CompiledApi, error?: { scheme: 'ApiKey' | 'Bearer'; why: string }) {
  const realm = `realm="${api.realm.replace(/[\\"]/g, '')}"`;
  const schemes = new Set<string>();
  for (const method of api.def.auth) {
    if (method.type === 'apiKey') schemes.add('ApiKey');
    if (method.type === 'jwt') schemes.add('Bearer');
  }

  const parts: string[] = [];
  for (const scheme of schemes) {
    if (error?.scheme === scheme && scheme === 'Bearer') {
      const description = error.why.replace(/[\\"]/g, '');
      parts.push(`Bearer ${realm}, error="invalid_token", error_description="${description}"`);
    } else {
      parts.push(`${scheme} ${realm}`);
    }
  }
  return parts.join(', ');
}

export function unauthorized(
  api: CompiledApi,
  reason: Extract<RefusalReason, 'AUTH_MISSING' | 'AUTH_INVALID'>,
  detail: string,
  scheme?: 'ApiKey' | 'Bearer',
): RespondVerdict {
  const challenge = challenges(api, scheme ? { scheme, why: detail } : undefined);
  return respond(
    {
      code: reason,
      status: 401,
      title: reason === 'AUTH_MISSING' ? 'Credentials required' : 'Credentials not accepted',
      detail,
      api: api.def.name,
    },
    { decision: 'refused', api: api.def.name, reason },
    challenge ? { 'www-authenticate': challenge } : undefined,
  );
}

export interface RefusalContext {
  api: string;
  route?: string;
  consumer?: string;
  tier?: string;
}

export function forbidden(
  reason: Extract<RefusalReason, 'ROUTE_NOT_ENTITLED' | 'RULE_DENIED'>,
  detail: string,
  context: RefusalContext,
  rateHeaders?: Record<string, string>,
): RespondVerdict {
  return respond(
    { code: reason, status: 403, title: 'Not allowed for this consumer', detail, ...context },
    { decision: 'refused', reason, ...context },
    rateHeaders,
  );
}

export function routeNotFound(api: string, method: string, path: string): RespondVerdict {
  return respond(
    {
      code: 'ROUTE_NOT_FOUND',
      status: 404,
      title: 'No route matches',
      detail: `no route of API "${api}" matches ${method} ${path}`,
      api,
    },
    { decision: 'refused', reason: 'ROUTE_NOT_FOUND', api },
  );
}

export function limitExceeded(
  reason: Extract<RefusalReason, 'RATE_LIMITED' | 'QUOTA_EXCEEDED'>,
  context: Required<RefusalContext>,
  limit: {
    name: string;
    requests: number;
    per: string;
    resetAt: number;
    retryAfterSeconds: number | null;
  },
  annotations: ExchangeAnnotations,
  rateHeaders: Record<string, string>,
): RespondVerdict {
  const quota = reason === 'QUOTA_EXCEEDED';
  const detail =
    limit.retryAfterSeconds === null
      ? `this request costs more than limit "${limit.name}" allows at once`
      : `limit "${limit.name}" (${limit.requests} per ${limit.per}) is used up; retry in ${limit.retryAfterSeconds} s`;
  const headers =
    limit.retryAfterSeconds === null
      ? rateHeaders
      : { ...rateHeaders, 'retry-after': String(limit.retryAfterSeconds) };

  return respond(
    {
      code: reason,
      status: 429,
      title: quota ? 'Quota exceeded' : 'Too many requests',
      detail,
      ...context,
      limit: limit.name,
      resetAt: new Date(limit.resetAt).toISOString(),
      ...(limit.retryAfterSeconds === null ? {} : { retryAfter: limit.retryAfterSeconds }),
    },
    annotations,
    headers,
  );
}

export function injectedFault(
  status: 429 | 500 | 503,
  context: Required<RefusalContext>,
  fault: string,
): RespondVerdict {
  return respond(
    {
      code: 'FAULT_INJECTED',
      status,
      title: 'Injected fault',
      detail: `fault "${fault}" answered ${status} instead of the upstream`,
      ...context,
    },
    { decision: 'refused', reason: 'FAULT_INJECTED', ...context },
    status === 429 || status === 503 ? { 'retry-after': '1' } : undefined,
  );
}
