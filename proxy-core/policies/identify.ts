/**
 * Who is calling: the first auth method of the API whose credential is present decides.
 *
 * Guarantees: a presented API key is never compared as a string with the keys Tollgate knows.
 * It is hashed with SHA-256 (once per distinct key string, see `keyDigest`); policy-file keys
 * are looked up by hash (timing can reveal only bits of a hash, which says nothing about a key),
 * stored keys are compared hash against hash with `timingSafeEqual`. Revoked stored keys never
 * match. No credential is logged or echoed.
 */

import { createHash, timingSafeEqual } from 'node:crypto';
import type { JWTPayload } from 'jose';
import type { ExchangeRequest, HeaderMap, RespondVerdict } from '../server/exchange.ts';
import type { StoredKey } from '../store/types.ts';
import { unauthorized } from './answers.ts';
import type { CompiledApi, CompiledPolicy } from './compile.ts';
import type { JwtResult } from './jwt.ts';
import type { JwtAuth } from './schema.ts';

export interface Caller {
  consumer: string;
  tier: string;
  roles: readonly string[];
  claims: JWTPayload | undefined;
}

export type Identity = { ok: true; caller: Caller } | { ok: false; verdict: RespondVerdict };

/** What stays the same from one request to the next under one policy. */
export interface IdentifyContext {
  compiled: CompiledPolicy;
  storedKeys: () => readonly StoredKey[];
  tierOverrides: ReadonlyMap<string, string>;
}

/** A token's exp and nbf are checked against `wallNow` (epoch ms, virtual clock). */
export function identify(
  api: CompiledApi,
  request: ExchangeRequest,
  ctx: IdentifyContext,
  wallNow: number,
): Identity | Promise<Identity> {
  for (const method of api.def.auth) {
    if (method.type === 'apiKey') {
      const key =
        (method.header && headerValue(request.headers, method.header)) ||
        (method.query && queryValue(request.path, method.query));
      if (key) return byKey(api, key, ctx);
    } else if (method.type === 'jwt') {
      const token = bearerToken(headerValue(request.headers, method.header));
      if (token !== undefined) return byToken(api, token, ctx, wallNow);
    } else if (request.clientCertificate) {
      const cert = request.clientCertificate;
      const id = (method.match === 'subject' ? cert.subject : cert.fingerprint256).toUpperCase();
      const consumer = ctx.compiled.certificates.get(id);
      if (!consumer) return refuse(api, 'AUTH_INVALID', 'client certificate not recognised');
      return known(api, consumer, undefined, undefined, ctx);
    }
  }

  if (api.def.anonymousTier !== undefined) return anonymous(api, api.def.anonymousTier);
  return refuse(api, 'AUTH_MISSING', 'this API needs credentials: ' + expected(api));
}

function byKey(api: CompiledApi, key: string, ctx: IdentifyContext): Identity {
  const hex = keyDigest(key);
  const fromPolicy = ctx.compiled.keyHashes.get(hex);
  if (fromPolicy) return known(api, fromPolicy, undefined, undefined, ctx);

  const storedKeys = ctx.storedKeys();
  if (storedKeys.length === 0)
    return refuse(api, 'AUTH_INVALID', 'API key not recognised', 'ApiKey');
  const digest = Buffer.from(hex, 'hex');
  for (const stored of storedKeys) {
    if (stored.revokedAt) continue;
    const candidate = Buffer.from(stored.sha256, 'hex');
    if (candidate.length === digest.length && timingSafeEqual(candidate, digest)) {
      return known(api, stored.consumer, undefined, undefined, ctx);
    }
  }
  return refuse(api, 'AUTH_INVALID', 'API key not recognised', 'ApiKey');
}

/**
 * SHA-256 (hex) of presented keys, remembered by the key string: hashing every request was the
 * largest single cost of `decide`. The cache maps a key to its digest, a pure function, so it
 * needs no invalidation (a revoked or removed key still fails the lookups after it), and it
 * keeps the guarantee above: the lookup hashes the presented string under V8's per-process seed
 * and compares whole strings only within a bucket, so its timing can at most say that a guess
 * shares a bucket with a key seen before, never which characters of a key are right. Keys a
 * client presented stay in memory as the proxy's own request buffers do. Guessers spraying
 * random keys only make it start over: bounded, cleared when full.
 */
const keyDigests = new Map<string, string>();
const KEY_DIGEST_CACHE = 1024;

function keyDigest(key: string): string {
  let hex = keyDigests.get(key);
  if (hex === undefined) {
    hex = createHash('sha256').update(key).digest('hex');
    if (keyDigests.size >= KEY_DIGEST_CACHE) keyDigests.clear();
    keyDigests.set(key, hex);
  }
  return hex;
}

function byToken(
  api: CompiledApi,
  token: string,
  ctx: IdentifyContext,
  wallNow: number,
): Identity | Promise<Identity> {
  const cached = api.verifier.cached(token, wallNow);
  if (cached) return fromJwt(api, cached, ctx);
  return api.verifier.verify(token, wallNow).then((result) => fromJwt(api, result, ctx));
}

function fromJwt(api: CompiledApi, result: JwtResult, ctx: IdentifyContext): Identity {
  if (!result.ok) return refuse(api, 'AUTH_INVALID', result.why, 'Bearer');
  const method: JwtAuth = result.method;
  const consumer = result.payload[method.consumerClaim];
  if (typeof consumer !== 'string' || consumer === '') {
    return refuse(api, 'AUTH_INVALID', `token has no "${method.consumerClaim}" claim`, 'Bearer');
  }
  const tierClaim = method.tierClaim ? result.payload[method.tierClaim] : undefined;
  return known(
    api,
    consumer,
    typeof tierClaim === 'string' ? tierClaim : undefined,
    result.payload,
    ctx,
  );
}

/**
 * A consumer named by a credential. A token may name a consumer the policy does not list, as
 * long as it names a tier; a switched tier (`setConsumerTier`) wins over both.
 */
function known(
  api: CompiledApi,
  name: string,
  claimedTier: string | undefined,
  claims: JWTPayload | undefined,
  ctx: IdentifyContext,
): Identity {
  const consumer = ctx.compiled.consumers.get(name);
  const tier = ctx.tierOverrides.get(name) ?? claimedTier ?? consumer?.tier;
  const scheme = claims ? 'Bearer' : 'ApiKey';

  if (tier === undefined) {
    return refuse(api, 'AUTH_INVALID', `consumer "${name}" is not in the policy`, scheme);
  }
  if (!ctx.compiled.tiers.has(tier)) {
    return refuse(api, 'AUTH_INVALID', `tier "${tier}" is not in the policy`, scheme);
  }
  const roles = consumer?.roles ?? [];
  if (claims) return { ok: true, caller: { consumer: name, tier, roles, claims } };
  return sameCaller(ctx.compiled, name, tier, roles);
}

/** One caller for all of an API's anonymous requests; an API object lives as long as its policy. */
const anonymousCallers = new WeakMap<CompiledApi, Identity>();

function anonymous(api: CompiledApi, tier: string): Identity {
  let identity = anonymousCallers.get(api);
  if (!identity) anonymousCallers.set(api, (identity = frozenIdentity('anonymous', tier, [])));
  return identity;
}

/**
 * Without claims, a caller is only a consumer in a tier: one frozen identity per pair and
 * policy, so a key's requests share it instead of allocating one each, and what is derived from
 * a caller (the forwarded headers) can be kept with it.
 */
const callers = new WeakMap<CompiledPolicy, Map<string, Identity>>();

function sameCaller(
  compiled: CompiledPolicy,
  consumer: string,
  tier: string,
  roles: readonly string[],
): Identity {
  let byConsumer = callers.get(compiled);
  if (!byConsumer) callers.set(compiled, (byConsumer = new Map()));

  let identity = byConsumer.get(consumer);
  // A tier switched by the control API replaces the consumer's entry.
  if (!identity?.ok || identity.caller.tier !== tier) {
    identity = frozenIdentity(consumer, tier, roles);
    byConsumer.set(consumer, identity);
  }
  return identity;
}

function frozenIdentity(consumer: string, tier: string, roles: readonly string[]): Identity {
  const caller: Caller = Object.freeze({ consumer, tier, roles, claims: undefined });
  return Object.freeze({ ok: true, caller });
}

function refuse(
  api: CompiledApi,
  reason: 'AUTH_MISSING' | 'AUTH_INVALID',
  detail: string,
  scheme?: 'ApiKey' | 'Bearer',
): Identity {
  return { ok: false, verdict: unauthorized(api, reason, detail, scheme) };
}

function expected(api: CompiledApi): string {
  return api.def.auth
    .map((m) => {
      if (m.type === 'apiKey') {
        return [m.header && `header ${m.header}`, m.query && `query parameter ${m.query}`]
          .filter(Boolean)
          .join(' or ');
      }
      return m.type === 'jwt' ? `a bearer token in ${m.header}` : 'a client certificate';
    })
    .join('; or ');
}

export function headerValue(headers: HeaderMap, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function queryValue(target: string, name: string): string | undefined {
  const start = target.indexOf('?');
  if (start === -1) return undefined;
  return new URLSearchParams(target.slice(start + 1)).get(name) ?? undefined;
}

function bearerToken(value: string | undefined): string | undefined {
  if (!value || value.length < 8 || value.slice(0, 7).toLowerCase() !== 'bearer ') return undefined;
  const token = value.slice(7).trim();
  return token === '' ? undefined : token;
}
