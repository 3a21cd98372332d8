/**
 * What the control API works with. Collaborators are described by the little the API needs of
 * them (so tests can hand over the real ones without the rest of the app), and all but the
 * request log are optional: a route whose collaborator is absent answers 503.
 */

import type { Logger } from '../log/logger.ts';
import type { Policy } from '../policies/schema.ts';
import type { StoreData } from '../store/types.ts';
import type {
  PolicyError,
  PolicySource,
  QuotaUsage,
  StoreHealth,
} from '../contract/control-api.ts';
import type { RequestLog } from '../traffic/request-log.ts';
import type { Metrics } from '../traffic/metrics.ts';
import type { AlertWatcher } from '../traffic/alerts.ts';
import type { PolicyService } from './policy-service.ts';

/** The policy engine, as `policies/engine.ts` provides it. */
export interface ControlEngine {
  replacePolicy(policy: Policy): void;
  resetUsage(consumer?: string): void;
  usage(): QuotaUsage[];
  clock: { advance(ms: number): void; reset(): void; readonly offsetMs: number };
}

/** The durable store, as `store/store.ts` provides it. */
export interface ControlStore {
  readonly data: StoreData;
  update(mutate: (data: StoreData) => void): unknown;
  readonly health: StoreHealth;
}

export interface ControlCertificateAuthority {
  readonly certPath: string;
  readonly certPem: string;
  readonly fingerprint256: string;
}

export type ParsePolicy = (
  text: string,
  source?: string,
) => { ok: true; policy: Policy } | { ok: false; errors: PolicyError[] };

/** Live facts about the rest of the app for `GET /api/status`. */
export interface RuntimeStatus {
  proxyPort?: number | null;
  reversePort?: number | null;
}

export interface ControlContext {
  version: string;
  startedAt: Date;
  port: number;
  dataDir: string | null;
  log: Logger;
  requestLog: RequestLog;
  metrics: Metrics | undefined;
  alerts: AlertWatcher | undefined;
  engine: ControlEngine | undefined;
  store: ControlStore | undefined;
  ca: ControlCertificateAuthority | undefined;
  runtime: () => RuntimeStatus;
  policy: PolicyService;
  /** The OpenAPI document of this API. */
  openapi: () => Record<string, unknown>;
}

export type { PolicySource };
