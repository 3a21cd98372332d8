/** Filters of the request log, shared by log queries, HAR export and the live stream. */

import type { LogQuery } from '../contract/control-api.ts';
import type { ExchangeSummary } from './log-record.ts';

/** What filters read of an entry, a record or a stored slot. */
export type Filterable = Pick<
  ExchangeSummary,
  | 'id'
  | 'method'
  | 'host'
  | 'url'
  | 'status'
  | 'decision'
  | 'reason'
  | 'error'
  | 'api'
  | 'route'
  | 'consumer'
  | 'tier'
>;

export const DEFAULT_QUERY_LIMIT = 100;
export const MAX_QUERY_LIMIT = 10_000;

export interface NormalisedQuery extends Omit<LogQuery, 'status' | 'limit'> {
  /** Exact status, or a class as its first digit (`4` for `4xx`). */
  status?: { exact: number } | { class: number };
  limit: number;
}

/** Lower-cases what compares case-insensitively and settles the limit, once per query. */
export function normaliseQuery(query: LogQuery): NormalisedQuery {
  const { status, limit, ...rest } = query;
  const normalised: NormalisedQuery = {
    ...rest,
    limit: Math.min(Math.max(1, limit ?? DEFAULT_QUERY_LIMIT), MAX_QUERY_LIMIT),
  };

  if (status !== undefined) {
    const cls = /^([1-5])xx$/i.exec(status);
    normalised.status = cls ? { class: Number(cls[1]) } : { exact: Number(status) };
  }
  if (rest.method) normalised.method = rest.method.toUpperCase();
  if (rest.host) normalised.host = rest.host.toLowerCase();
  if (rest.text) normalised.text = rest.text.toLowerCase();
  return normalised;
}

export function matchesQuery(entry: Filterable, q: NormalisedQuery): boolean {
  if (q.status) {
    if ('exact' in q.status && entry.status !== q.status.exact) return false;
    if ('class' in q.status && Math.floor(entry.status / 100) !== q.status.class) return false;
  }
  if (q.consumer !== undefined && entry.consumer !== q.consumer) return false;
  if (q.tier !== undefined && entry.tier !== q.tier) return false;
  if (q.route !== undefined && entry.route !== q.route && qualified(entry) !== q.route) {
    return false;
  }
  if (q.api !== undefined && entry.api !== q.api) return false;
  if (q.decision !== undefined && entry.decision !== q.decision) return false;
  if (q.host !== undefined && entry.host !== q.host) return false;
  if (q.method !== undefined && entry.method !== q.method) return false;
  if (q.text !== undefined && !haystack(entry).includes(q.text)) return false;
  return true;
}

/** `api.route`, the way policies reference routes. */
function qualified(entry: Filterable): string | undefined {
  return entry.api && entry.route ? `${entry.api}.${entry.route}` : undefined;
}

function haystack(entry: Filterable): string {
  return [entry.method, entry.url, entry.consumer, entry.tier, entry.reason, entry.error, entry.id]
    .filter(Boolean)
    .join(' ')
    .toLowerCase();
}
