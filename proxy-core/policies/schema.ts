/**
 * The policy document: what Tollgate governs, who may call it, and how much.
 *
 * This is the serialisable definition side of the engine (no Node imports), shared with the
 * exports, the control API and the UI. Every default is written here, so the parsed `Policy`
 * is complete and nothing downstream has to guess. Objects are strict: an unknown field is a
 * typo until proven otherwise, and the user hears about it from `tollgate policy check`.
 */

import { z } from 'zod';

/** Names that are also parts of references (`api.route`), so no dots or spaces. */
const identifier = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'expected letters, digits, "-" or "_" (no dots or spaces)')
  .max(100);

/** Consumer names may be e-mail addresses or org ids; only whitespace is refused. */
const consumerName = z.string().regex(/^\S+$/, 'expected a name without spaces').max(200);

const headerName = z
  .string()
  .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'expected an HTTP header name')
  .transform((name) => name.toLowerCase());

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export const PERIODS = ['second', 'minute', 'hour', 'day', 'week', 'month'] as const;
export const CALENDAR_PERIODS = ['day', 'week', 'month'] as const;
export const ALGORITHMS = [
  'fixed-window',
  'sliding-window',
  'token-bucket',
  'gcra',
  'leaky-bucket',
  'calendar',
] as const;
export const SCOPES = ['consumer', 'consumer+route', 'client-address'] as const;
export const HEADER_STYLES = ['ietf+x', 'ietf', 'x-ratelimit', 'kong', 'none'] as const;

export type HttpMethod = (typeof HTTP_METHODS)[number];
export type Period = (typeof PERIODS)[number];
export type Algorithm = (typeof ALGORITHMS)[number];
export type LimitScope = (typeof SCOPES)[number];
export type RateLimitHeaderStyle = (typeof HEADER_STYLES)[number];

/** Sub-day periods count as a sliding window, longer ones as calendar quotas (as AWS does). */
export function defaultAlgorithm(per: Period): Algorithm {
  return per === 'day' || per === 'week' || per === 'month' ? 'calendar' : 'sliding-window';
}

/** Hostname, or `*.` plus a hostname for every subdomain; lower-cased, no port. */
const hostPattern = z
  .string()
  .regex(
    /^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$|^::1$/,
    'expected a hostname such as api.example.test or *.example.test (no scheme, no port)',
  )
  .transform((host) => host.toLowerCase());

const pathPattern = z
  .string()
  .regex(/^\/[^\s?#]*$/, 'expected a path starting with "/" (segments may be * or **), no query');

const apiKeyAuth = z
  .strictObject({
    type: z.literal('apiKey'),
    /** Header carrying the key. */
    header: headerName.optional(),
    /** Query parameter carrying the key. */
    query: z.string().min(1).optional(),
  })
  .refine((a) => a.header !== undefined || a.query !== undefined, {
    message: 'an apiKey method needs a header, a query parameter, or both',
  });

export const JWT_ALGORITHMS = ['HS256', 'HS384', 'HS512', 'RS256', 'ES256', 'PS256'] as const;

const jwtAuth = z
  .strictObject({
    type: z.literal('jwt'),
    /** Shared secret for HS* tokens; also what `tollgate token` signs with. */
    secret: z.string().min(1).optional(),
    /** PEM (SPKI) public key for RS256/ES256 tokens, inline. */
    publicKey: z.string().min(1).optional(),
    /** Path to a local JWKS file (relative to the policy file). */
    jwksFile: z.string().min(1).optional(),
    algorithms: z.array(z.enum(JWT_ALGORITHMS)).min(1).optional(),
    issuer: z.string().min(1).optional(),
    audience: z.string().min(1).optional(),
    /** Claim naming the consumer. */
    consumerClaim: z.string().min(1).default('sub'),
    /** Claim naming the tier; when absent the consumer's configured tier applies. */
    tierClaim: z.string().min(1).optional(),
    /** Clock skew tolerated on exp and nbf. */
    leewaySeconds: z.number().int().min(0).max(300).default(30),
    /** Where the bearer token is read from. */
    header: headerName.default('authorization'),
  })
  .refine((a) => [a.secret, a.publicKey, a.jwksFile].filter((v) => v !== undefined).length === 1, {
    message: 'a jwt method needs exactly one of secret, publicKey or jwksFile',
  });

const mtlsAuth = z.strictObject({
  type: z.literal('mtls'),
  /** What identifies the consumer: matched against `consumers[].certificates`. */
  match: z.enum(['fingerprint256', 'subject']).default('fingerprint256'),
});

export const authMethodSchema = z.discriminatedUnion('type', [apiKeyAuth, jwtAuth, mtlsAuth]);

export const routeSchema = z.strictObject({
  name: identifier,
  /** `*` means any method. */
  methods: z
    .array(z.enum([...HTTP_METHODS, '*']))
    .min(1)
    .default(['*']),
  /** `*` matches one path segment, `**` any number of them. */
  path: pathPattern,
  /** Units each request consumes from every limit. */
  cost: z.number().int().min(1).max(1_000_000).default(1),
  /** When non-empty, the consumer needs one of these roles as well as the entitlement. */
  roles: z.array(identifier).default([]),
});

const adaptiveSchema = z
  .strictObject({
    /** Tighten while the upstream's p95 latency is above this. */
    p95AboveMs: z.number().positive().optional(),
    /** Tighten while the share of 5xx answers is above this (0..1). */
    errorShareAbove: z.number().min(0).max(1).optional(),
    /** Recent exchanges considered. */
    windowSeconds: z.number().int().min(1).max(3600).default(30),
    /** Fewest exchanges in the window before judging the upstream. */
    minSamples: z.number().int().min(1).default(10),
    /** Multiplier applied per unhealthy evaluation (halve by default). */
    factor: z.number().gt(0).lt(1).default(0.5),
    /** Floor of the effective limit, as a share of `requests`. */
    floor: z.number().gt(0).max(1).default(0.1),
    /** Seconds of health for the effective limit to climb back to `requests`. */
    recoverySeconds: z.number().int().min(1).default(60),
  })
  .refine((a) => a.p95AboveMs !== undefined || a.errorShareAbove !== undefined, {
    message: 'adaptive needs p95AboveMs, errorShareAbove, or both',
  });

export const limitSchema = z
  .strictObject({
    /** Shown in headers and problem bodies; default `<tier>-<per>` (e.g. `free-minute`). */
    name: identifier.optional(),
    requests: z.number().int().positive().max(1_000_000_000),
    per: z.enum(PERIODS),
    /** How many requests above `requests` a spike may use (token bucket / GCRA). */
    burst: z.number().int().min(0).max(1_000_000_000).default(0),
    /** Default: sliding-window for second/minute/hour, calendar for day/week/month. */
    algorithm: z.enum(ALGORITHMS).optional(),
    scope: z.enum(SCOPES).default('consumer'),
    /** Only these routes count against this limit (all of the tier's routes when absent). */
    routes: z.array(z.string().min(1)).optional(),
    adaptive: adaptiveSchema.optional(),
  })
  .transform((limit) => ({ ...limit, algorithm: limit.algorithm ?? defaultAlgorithm(limit.per) }))
  .refine((l) => l.algorithm !== 'calendar' || isCalendarPeriod(l.per), {
    message: 'the calendar algorithm counts per day, week or month only',
    path: ['algorithm'],
  });

function isCalendarPeriod(per: Period): boolean {
  return (CALENDAR_PERIODS as readonly string[]).includes(per);
}

export const tierSchema = z.strictObject({
  name: identifier,
  /** Route references: `read`, `weather.read`, or `*` for every route. */
  routes: z.array(z.string().min(1)).default([]),
  limits: z.array(limitSchema).default([]),
});

export const consumerSchema = z.strictObject({
  name: consumerName,
  tier: identifier,
  /** Development keys written in the file; keys made by `tollgate keys create` live hashed. */
  keys: z.array(z.string().min(8, 'keys must be at least 8 characters')).default([]),
  /** Client-certificate SHA-256 fingerprints (AA:BB:…) or subjects (CN=…), for mtls. */
  certificates: z.array(z.string().min(1)).default([]),
  roles: z.array(identifier).default([]),
});

export const apiSchema = z.strictObject({
  name: identifier,
  hosts: z.array(hostPattern).min(1),
  /** Base URL the requests go to instead of the host they named (host mapping). */
  upstream: z
    .url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' })
    .optional(),
  /** Tried in order; the first method whose credential is present decides. */
  auth: z.array(authMethodSchema).default([]),
  /** Tier given to requests with no credential; without it they get 401. */
  anonymousTier: identifier.optional(),
  routes: z.array(routeSchema).min(1),
  /** Forward the credential header/parameter upstream (removed by default). */
  keepCredentials: z.boolean().default(false),
  /** Overrides the policy-wide header style for this API. */
  rateLimitHeaders: z.enum(HEADER_STYLES).optional(),
  /** Realm in WWW-Authenticate; the API's name by default. */
  realm: z.string().min(1).optional(),
});

const matchSchema = z
  .strictObject({
    /** `claim.<name>`, `header.<name>`, `clientAddress`, `consumer`, `tier` or `role`. */
    attribute: z
      .string()
      .regex(
        /^(claim\.[^\s]+|header\.[A-Za-z0-9-]+|clientAddress|consumer|tier|role)$/,
        'expected claim.<name>, header.<name>, clientAddress, consumer, tier or role',
      ),
    equals: z.string().optional(),
    in: z.array(z.string()).optional(),
    /** Regular expression, tested against the whole value. */
    matches: z.string().optional(),
    present: z.boolean().optional(),
  })
  .refine(
    (m) => [m.equals, m.in, m.matches, m.present].filter((v) => v !== undefined).length === 1,
    { message: 'a condition needs exactly one of equals, in, matches or present' },
  );

export const ruleSchema = z.strictObject({
  name: identifier,
  /** deny: refuse when every condition holds; allow: for its routes, refuse unless one holds. */
  effect: z.enum(['allow', 'deny']).default('deny'),
  /** Route references the rule applies to; every route when absent. */
  routes: z.array(z.string().min(1)).optional(),
  when: z.array(matchSchema).min(1),
});

export const faultSchema = z.strictObject({
  name: identifier.optional(),
  /** Tiers and routes the fault applies to; everything governed when both are absent. */
  tiers: z.array(identifier).optional(),
  routes: z.array(z.string().min(1)).optional(),
  latencyMs: z.number().int().min(0).max(120_000).default(0),
  /** Extra random latency, uniformly 0..jitter. */
  jitterMs: z.number().int().min(0).max(120_000).default(0),
  errors: z
    .array(
      z.strictObject({
        status: z.union([z.literal(429), z.literal(500), z.literal(503)]),
        share: z.number().min(0).max(1),
      }),
    )
    .default([]),
});

const timezone = z.string().refine(isTimeZone, {
  message: 'expected an IANA time zone such as UTC or Europe/Paris',
});

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export const policySchema = z.strictObject({
  version: z.literal(1),
  apis: z.array(apiSchema).default([]),
  tiers: z.array(tierSchema).default([]),
  consumers: z.array(consumerSchema).default([]),
  rules: z.array(ruleSchema).default([]),
  faults: z.array(faultSchema).default([]),
  /** Time zone of calendar quota boundaries. */
  timezone: timezone.default('UTC'),
  rateLimitHeaders: z.enum(HEADER_STYLES).default('ietf+x'),
  /** Headers telling the upstream who called; empty string disables one. */
  forwardHeaders: z
    .strictObject({
      consumer: z.union([headerName, z.literal('')]).default('x-consumer'),
      tier: z.union([headerName, z.literal('')]).default('x-tier'),
    })
    .default({ consumer: 'x-consumer', tier: 'x-tier' }),
});

export type Policy = z.output<typeof policySchema>;
/** A policy document as written, before defaults. */
export type PolicyInput = z.input<typeof policySchema>;
export type ApiDefinition = z.output<typeof apiSchema>;
export type RouteDefinition = z.output<typeof routeSchema>;
export type Tier = z.output<typeof tierSchema>;
export type LimitDefinition = z.output<typeof limitSchema>;
export type AdaptiveDefinition = NonNullable<LimitDefinition['adaptive']>;
export type Consumer = z.output<typeof consumerSchema>;
export type AuthMethod = z.output<typeof authMethodSchema>;
export type ApiKeyAuth = Extract<AuthMethod, { type: 'apiKey' }>;
export type JwtAuth = Extract<AuthMethod, { type: 'jwt' }>;
export type MtlsAuth = Extract<AuthMethod, { type: 'mtls' }>;
export type Rule = z.output<typeof ruleSchema>;
export type RuleCondition = Rule['when'][number];
export type Fault = z.output<typeof faultSchema>;

/** The JSON Schema of the document as written (defaults optional), for editors. */
export function policyJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(policySchema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
}
