/**
 * The control API's one contract: every route with its path parameters, query, body and answer.
 *
 * The server (`control/`), the typed client (`control/client.ts`), the CLI and the renderer all
 * read these types. Types and plain data only: this module must stay importable from a browser.
 */

import type { Decision, LimitState, RefusalReason } from './traffic.ts';

export const DEFAULT_CONTROL_PORT = 8878;

/** The file in the data dir that tells local clients where the API is and how to get in. */
export const CONTROL_ENDPOINT_FILE = 'control-token';

export interface ControlEndpoint {
  host: string;
  port: number;
  token: string;
  pid: number;
  startedAt: string;
}

// ---------------------------------------------------------------------------------------------
// Request log

export interface LoggedBody {
  /** `utf8` for text bodies, `base64` for anything else. */
  encoding: 'utf8' | 'base64';
  text: string;
  /** Bytes captured (at most the capture cap). */
  size: number;
  /** True when the body was longer than the cap; it still streamed through whole. */
  truncated: boolean;
}

export type LoggedHeaders = Record<string, string | string[]>;

export interface RequestLogEntry {
  /** The exchange id (also the id used by `GET /api/log/:id`). */
  id: string;
  /** Position in the log, increasing; `since` filters on it. */
  seq: number;
  /** Epoch ms when the request arrived. */
  startedAt: number;
  clientAddress: string;
  method: string;
  scheme: 'http' | 'https';
  host: string;
  port: number;
  path: string;
  /** Query string without the `?`, secrets masked. */
  query: string;
  /** Full URL, secrets masked. */
  url: string;
  requestHeaders: LoggedHeaders;
  responseHeaders: LoggedHeaders;
  /** 0 when the client went away before any answer. */
  status: number;
  requestBytes: number;
  responseBytes: number;
  timings: { dns?: number; connect?: number; tls?: number; upstream?: number; total: number };
  decision: Decision;
  reason?: RefusalReason;
  /** The limit that refused the request, when one did. */
  limit?: string;
  /** Limit state after this request. */
  limits?: LimitState[];
  api?: string;
  route?: string;
  consumer?: string;
  tier?: string;
  userAgent?: string;
  /**
   * Stands for the credential the request carried (key or token), never the credential itself:
   * an HMAC under a key made fresh each launch, so uses of one key can be grouped.
   */
  credentialTag?: string;
  requestBody?: LoggedBody;
  responseBody?: LoggedBody;
  /** Proxy failure code (`UPSTREAM_TIMEOUT`, …). */
  error?: string;
}

/** Filters of a log query; every one given must hold. */
export interface LogQuery {
  /** An exact status (`429`) or a class (`4xx`). */
  status?: string;
  consumer?: string;
  tier?: string;
  route?: string;
  api?: string;
  decision?: Decision;
  host?: string;
  method?: string;
  /** Case-insensitive substring of the URL, consumer, reason or error. */
  text?: string;
  /** Only entries with `seq` greater than this. */
  since?: number;
  /** Newest entries first, at most this many (default 100, at most 10,000). */
  limit?: number;
}

export interface LogQueryResult {
  /** Newest first. */
  entries: RequestLogEntry[];
  /** Entries matching the filters, before `limit`. */
  matched: number;
  size: number;
  capacity: number;
  /** `seq` of the newest entry in the log; pass it as `since` to poll. */
  lastSeq: number;
}

// ---------------------------------------------------------------------------------------------
// Metrics

export interface LatencySummary {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface MetricGroup {
  count: number;
  statusClasses: { '1xx': number; '2xx': number; '3xx': number; '4xx': number; '5xx': number };
  status401: number;
  status403: number;
  status429: number;
  refused: number;
  /** Milliseconds, from an HDR histogram. */
  latencyMs: LatencySummary;
}

export interface SeriesPoint {
  /** Epoch seconds. */
  t: number;
  count: number;
  errors: number;
  status429: number;
  refused: number;
}

/** Usage of one limit by one subject, as the policy engine reports it. */
export interface QuotaUsage {
  [field: string]: unknown;
}

export interface MetricsSnapshot {
  at: number;
  since: number;
  total: MetricGroup;
  byConsumer: Record<string, MetricGroup>;
  byTier: Record<string, MetricGroup>;
  byRoute: Record<string, MetricGroup>;
  /** One point per second, oldest first, up to 15 minutes. */
  series: SeriesPoint[];
  /** From the policy engine; empty when no engine is attached. */
  quotas: QuotaUsage[];
}

export interface MetricsTick {
  at: number;
  total: MetricGroup;
  /** The last complete second. */
  lastSecond: SeriesPoint;
}

// ---------------------------------------------------------------------------------------------
// Alerts

export type AlertKind =
  | 'key-many-addresses'
  | 'key-many-agents'
  | 'auth-failure-burst'
  | 'rate-spike'
  | 'quota-nearly-exhausted';

export interface Alert {
  id: string;
  kind: AlertKind;
  /** Epoch ms when it was raised. */
  at: number;
  /** The consumer, or the API for auth-failure bursts. */
  subject: string;
  message: string;
  /** Ids of the requests that raised it (log ids), newest last, at most 50. */
  requestIds: string[];
}

export interface AlertThresholds {
  /** Window over which addresses, agents and 401s are counted. */
  windowMs: number;
  /** More distinct client addresses than this for one consumer raises an alert. */
  maxAddressesPerConsumer: number;
  maxAgentsPerConsumer: number;
  /** This many 401s against one API within the window raises an alert. */
  authFailureBurst: number;
  /** A minute this many times above the consumer's usual per-minute rate raises an alert. */
  rateSpikeFactor: number;
  /** Fewest requests in a minute before a spike counts (quiet consumers are not spikes). */
  rateSpikeMinimum: number;
  /** Remaining share of a quota (0..1) at or below which an alert is raised. */
  quotaRemainingShare: number;
}

// ---------------------------------------------------------------------------------------------
// Status, policy, directory, clock, CA

export interface StoreHealth {
  ok: boolean;
  problem?: string;
  movedAside?: string;
  restoredFrom?: string;
}

export interface StatusResponse {
  name: 'tollgate';
  version: string;
  pid: number;
  startedAt: string;
  uptimeSeconds: number;
  ports: { control: number; proxy: number | null; reverse: number | null };
  dataDir: string | null;
  store: StoreHealth | null;
  ca: { fingerprint256: string; certPath: string } | null;
  policy: { loaded: boolean; revision: number | null };
  log: { size: number; capacity: number };
}

export interface PolicyError {
  path: string;
  message: string;
  line?: number;
}

/** Either a document (JSON) or its text (YAML or JSON), as a file would hold it. */
export interface PolicyBody {
  policy?: unknown;
  text?: string;
}

export type PolicyValidation = { ok: true } | { ok: false; errors: PolicyError[] };

export interface PolicyState {
  policy: unknown | null;
  revision: number | null;
}

export type PolicySource = 'file' | 'api' | 'cli' | 'ui' | 'restore' | 'start';

export interface PolicyRevisionSummary {
  id: number;
  at: string;
  source: PolicySource;
  summary: string;
}

export interface PolicyRevisionDetail extends PolicyRevisionSummary {
  policy: unknown;
}

export interface ApiSummary {
  name: string;
  hosts: string[];
  upstream?: string;
  auth: string[];
  routes: { name: string; methods: string[]; path: string; cost: number }[];
}

export interface TierSummary {
  name: string;
  routes: string[];
  limits: { name?: string; requests: number; per: string; algorithm?: string; scope?: string }[];
}

export interface ConsumerSummary {
  name: string;
  tier: string;
  /** Keys written in the policy file (count only) and keys made through the API. */
  policyKeys: number;
  storedKeys: number;
}

export interface KeySummary {
  id: string;
  consumer: string;
  prefix: string;
  createdAt: string;
  revokedAt?: string;
}

export interface CreatedKey extends KeySummary {
  /** The key itself: shown this once, stored only as its SHA-256. */
  key: string;
}

export interface ClockState {
  offsetMs: number;
  /** Virtual now, epoch ms. */
  now: number;
  nowIso: string;
}

export interface CaInfo {
  fingerprint256: string;
  certPath: string;
  pem: string;
}

// ---------------------------------------------------------------------------------------------
// Live stream (Server-Sent Events at /api/stream; event name = `type`)

export type StreamEvent =
  | { type: 'entry'; data: RequestLogEntry }
  | { type: 'metrics'; data: MetricsTick }
  | { type: 'alert'; data: Alert }
  | { type: 'cleared'; data: { at: number } };

// ---------------------------------------------------------------------------------------------
// Routes: `METHOD /path` → what goes in and what comes out.

interface Route<Params, Query, Body, Response> {
  params: Params;
  query: Query;
  body: Body;
  response: Response;
}

type None = undefined;

/** Options of an export; keys leave only when asked for (`includeKeys=true`). */
export interface ExportQuery {
  includeKeys?: 'true' | 'false';
  kongEdition?: 'oss' | 'enterprise';
}

export interface ControlRoutes {
  'GET /api/status': Route<None, None, None, StatusResponse>;
  'GET /api/openapi.json': Route<None, None, None, Record<string, unknown>>;

  'GET /api/policy': Route<None, None, None, PolicyState>;
  'PUT /api/policy': Route<None, None, PolicyBody & { source?: PolicySource }, PolicyState>;
  /** Body: a JSON Merge Patch (RFC 7396) of the policy document. */
  'PATCH /api/policy': Route<None, None, Record<string, unknown>, PolicyState>;
  'POST /api/policy/validate': Route<None, None, PolicyBody, PolicyValidation>;
  'GET /api/policy/history': Route<None, None, None, { revisions: PolicyRevisionSummary[] }>;
  'GET /api/policy/history/:id': Route<{ id: string }, None, None, PolicyRevisionDetail>;
  'POST /api/policy/history/:id/restore': Route<{ id: string }, None, None, PolicyState>;

  'GET /api/apis': Route<None, None, None, { apis: ApiSummary[] }>;
  'GET /api/tiers': Route<None, None, None, { tiers: TierSummary[] }>;
  'GET /api/consumers': Route<None, None, None, { consumers: ConsumerSummary[] }>;
  'POST /api/consumers': Route<None, None, { name: string; tier: string }, PolicyState>;
  'PUT /api/consumers/:name/tier': Route<{ name: string }, None, { tier: string }, PolicyState>;
  'POST /api/consumers/:name/reset-usage': Route<{ name: string }, None, None, { reset: string }>;

  'GET /api/keys': Route<None, None, None, { keys: KeySummary[] }>;
  'POST /api/keys': Route<None, None, { consumer: string }, CreatedKey>;
  'DELETE /api/keys/:id': Route<{ id: string }, None, None, KeySummary>;

  'GET /api/usage': Route<None, None, None, { usage: QuotaUsage[] }>;
  'POST /api/usage/reset': Route<None, None, None, { reset: string }>;

  'GET /api/log': Route<None, LogQuery, None, LogQueryResult>;
  'GET /api/log/har': Route<None, LogQuery, None, Record<string, unknown>>;
  'GET /api/log/:id': Route<{ id: string }, None, None, RequestLogEntry>;
  'DELETE /api/log': Route<None, None, None, { cleared: number }>;

  'GET /api/metrics': Route<None, None, None, MetricsSnapshot>;
  'GET /api/alerts': Route<None, None, None, { alerts: Alert[]; thresholds: AlertThresholds }>;
  'PUT /api/alerts/thresholds': Route<None, None, Partial<AlertThresholds>, AlertThresholds>;

  'GET /api/clock': Route<None, None, None, ClockState>;
  'POST /api/clock/advance': Route<None, None, { ms: number }, ClockState>;
  'POST /api/clock/reset': Route<None, None, None, ClockState>;

  'GET /api/ca': Route<None, None, None, CaInfo>;

  'GET /api/exports': Route<None, None, None, { formats: string[] }>;
  'GET /api/exports/:format': Route<{ format: string }, ExportQuery, None, unknown>;
}

export type RouteKey = keyof ControlRoutes;

/** Every route, for tests and the OpenAPI document; `GET /api/stream` is the SSE stream. */
export const CONTROL_ROUTE_KEYS: readonly RouteKey[] = [
  'GET /api/status',
  'GET /api/openapi.json',
  'GET /api/policy',
  'PUT /api/policy',
  'PATCH /api/policy',
  'POST /api/policy/validate',
  'GET /api/policy/history',
  'GET /api/policy/history/:id',
  'POST /api/policy/history/:id/restore',
  'GET /api/apis',
  'GET /api/tiers',
  'GET /api/consumers',
  'POST /api/consumers',
  'PUT /api/consumers/:name/tier',
  'POST /api/consumers/:name/reset-usage',
  'GET /api/keys',
  'POST /api/keys',
  'DELETE /api/keys/:id',
  'GET /api/usage',
  'POST /api/usage/reset',
  'GET /api/log',
  'GET /api/log/har',
  'GET /api/log/:id',
  'DELETE /api/log',
  'GET /api/metrics',
  'GET /api/alerts',
  'PUT /api/alerts/thresholds',
  'GET /api/clock',
  'POST /api/clock/advance',
  'POST /api/clock/reset',
  'GET /api/ca',
  'GET /api/exports',
  'GET /api/exports/:format',
];

export const STREAM_PATH = '/api/stream';
