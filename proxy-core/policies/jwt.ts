/**
 * JWT bearer verification with `jose`: HS* with a shared secret, RS256/ES256/PS256 with a PEM
 * public key, or any of them with a local JWKS file; iss, aud, exp and nbf checked with the
 * method's leeway against Tollgate's (virtual) wall clock.
 *
 * Guarantees: a token is accepted only after a full signature and claims check; a cached
 * verdict is reused only while its exp/nbf still hold on the current clock and for at most
 * `CACHE_TTL_MS`; the cache is bounded. Tokens never appear in errors or logs.
 */

import { readFileSync } from 'node:fs';
import {
  createLocalJWKSet,
  errors as joseErrors,
  importSPKI,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from 'jose';
import type { JwtAuth } from './schema.ts';

const CACHE_TTL_MS = 60_000;
const CACHE_MAX = 1000;
const ASYMMETRIC = ['RS256', 'ES256', 'PS256'] as const;

type VerifyKey = Uint8Array | Awaited<ReturnType<typeof importSPKI>> | JWTVerifyGetKey;

interface CachedToken {
  payload: JWTPayload;
  method: JwtAuth;
  /** Wall-clock ms before which the token is not yet valid (nbf minus leeway). */
  notBefore: number;
  /** Wall-clock ms after which the cached verdict must not be used. */
  until: number;
}

export type JwtResult =
  { ok: true; payload: JWTPayload; method: JwtAuth } | { ok: false; why: string };

export class JwtVerifier {
  readonly #keys = new Map<JwtAuth, Promise<VerifyKey>>();
  readonly #cache = new Map<string, CachedToken>();

  constructor(private readonly methods: readonly JwtAuth[]) {}

  /** A verdict from the cache, or undefined when the token must be verified in full. */
  cached(token: string, wallNow: number): JwtResult | undefined {
    const hit = this.#cache.get(token);
    if (!hit) return undefined;
    if (wallNow >= hit.until || wallNow < hit.notBefore) {
      this.#cache.delete(token);
      return undefined;
    }
    return { ok: true, payload: hit.payload, method: hit.method };
  }

  /** Tries each method in order; the first that accepts the token wins. */
  async verify(token: string, wallNow: number): Promise<JwtResult> {
    let why = 'no JWT method configured';
    for (const method of this.methods) {
      try {
        const key = await this.#keyFor(method);
        const options: JWTVerifyOptions = {
          issuer: method.issuer,
          audience: method.audience,
          algorithms: method.algorithms ?? defaultAlgorithms(method),
          clockTolerance: method.leewaySeconds,
          currentDate: new Date(wallNow),
        };
        // jose overloads on the key's kind: a JWKS is a function, a secret or SPKI key is not.
        const { payload } =
          typeof key === 'function'
            ? await jwtVerify(token, key, options)
            : await jwtVerify(token, key, options);
        this.#remember(token, payload, method, wallNow);
        return { ok: true, payload, method };
      } catch (error) {
        why = describe(error);
      }
    }
    return { ok: false, why };
  }

  #remember(token: string, payload: JWTPayload, method: JwtAuth, wallNow: number): void {
    const leewayMs = method.leewaySeconds * 1000;
    const expires = payload.exp === undefined ? Infinity : payload.exp * 1000 + leewayMs;
    const notBefore = payload.nbf === undefined ? 0 : payload.nbf * 1000 - leewayMs;

    if (this.#cache.size >= CACHE_MAX) {
      // Maps iterate in insertion order: drop the oldest entry.
      this.#cache.delete(this.#cache.keys().next().value!);
    }
    this.#cache.set(token, {
      payload,
      method,
      notBefore,
      until: Math.min(expires, wallNow + CACHE_TTL_MS),
    });
  }

  #keyFor(method: JwtAuth): Promise<VerifyKey> {
    let key = this.#keys.get(method);
    if (!key) {
      key = loadKey(method);
      // A failed load (bad JWKS file) is retried on the next token, not cached forever.
      key.catch(() => this.#keys.delete(method));
      this.#keys.set(method, key);
    }
    return key;
  }
}

function defaultAlgorithms(method: JwtAuth): string[] {
  if (method.secret !== undefined) return ['HS256', 'HS384', 'HS512'];
  return [...ASYMMETRIC];
}

async function loadKey(method: JwtAuth): Promise<VerifyKey> {
  if (method.secret !== undefined) return new TextEncoder().encode(method.secret);

  if (method.publicKey !== undefined) {
    const alg = method.algorithms?.[0] ?? guessAlgorithm(method.publicKey);
    return importSPKI(method.publicKey, alg);
  }

  let jwks: unknown;
  try {
    jwks = JSON.parse(readFileSync(method.jwksFile!, 'utf8'));
  } catch (error) {
    throw new Error(`JWKS file unreadable: ${(error as Error).message}`, { cause: error });
  }
  return createLocalJWKSet(jwks as Parameters<typeof createLocalJWKSet>[0]);
}

/** EC keys have a short SPKI; RSA keys of 2048 bits and up are long. */
function guessAlgorithm(pem: string): string {
  return pem.replace(/-----[^-]+-----|\s/g, '').length < 300 ? 'ES256' : 'RS256';
}

function describe(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'token expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    return error.message;
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'signature invalid';
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'algorithm not allowed';
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid) {
    return 'malformed token';
  }
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'no matching key in the JWKS';
  return (error as Error).message ?? 'token rejected';
}
