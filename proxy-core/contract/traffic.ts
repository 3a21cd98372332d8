/**
 * Serialisable shapes of live traffic, shared by proxy-core, the control API and the UI.
 * Types only: this module must stay importable from a browser.
 */

export type Decision = 'allowed' | 'refused' | 'passthrough';

/** Why a request was refused, as a stable code. */
export type RefusalReason =
  | 'AUTH_MISSING'
  | 'AUTH_INVALID'
  | 'ROUTE_NOT_FOUND'
  | 'ROUTE_NOT_ENTITLED'
  | 'RULE_DENIED'
  | 'RATE_LIMITED'
  | 'QUOTA_EXCEEDED'
  | 'FAULT_INJECTED';

export interface LimitState {
  /** Human name of the limit, e.g. `5/minute` or the limit's own `name`. */
  name: string;
  limit: number;
  remaining: number;
  /** Seconds until the window resets or a token is back. */
  resetSeconds: number;
  /** Epoch ms of the reset, for quotas. */
  resetAt?: number;
  algorithm: string;
}

export interface ExchangeAnnotations {
  decision: Decision;
  api?: string;
  route?: string;
  consumer?: string;
  tier?: string;
  reason?: RefusalReason;
  /** Which limit refused the request, when one did. */
  limit?: string;
  limits?: LimitState[];
}
