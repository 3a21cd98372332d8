import type { ExchangeAnnotations } from '../../proxy-core/contract/traffic.ts';
import type { OutgoingHttpHeaders } from 'node:http';
import type { ExchangeRecord, ExchangeRequest } from '../../proxy-core/server/exchange.ts';
import { headerList } from '../../proxy-core/server/header-list.ts';
import { exchangeRequest } from '../support/exchange-request.ts';

/**
 * An exchange as the proxy reports it to `completed`: the seam's own input shape, so log and
 * metrics tests need no proxy. Tests through the real proxy live in through-proxy.spec.ts.
 */
export function exchange(
  options: {
    request?: Partial<ExchangeRequest>;
    annotations?: ExchangeAnnotations;
    status?: number;
    totalMs?: number;
    /** As a map for readability; the proxy reports a list. */
    responseHeaders?: OutgoingHttpHeaders;
    requestBody?: string | Buffer;
    responseBody?: string | Buffer;
    truncated?: boolean;
  } = {},
): ExchangeRecord {
  const record: ExchangeRecord = {
    request: exchangeRequest({
      headers: { 'user-agent': 'test-client/1.0' },
      ...options.request,
    }),
    status: options.status ?? 200,
    responseHeaders: headerList(options.responseHeaders ?? { 'content-type': 'application/json' }),
    requestBytes: 0,
    responseBytes: 2,
    timings: { total: options.totalMs ?? 5, upstream: (options.totalMs ?? 5) - 1 },
  };
  if (options.annotations) record.annotations = options.annotations;
  if (options.requestBody !== undefined) {
    record.requestBody = { bytes: Buffer.from(options.requestBody), truncated: false };
  }
  if (options.responseBody !== undefined) {
    record.responseBody = {
      bytes: Buffer.from(options.responseBody),
      truncated: options.truncated ?? false,
    };
  }
  return record;
}

export const ALLOWED: ExchangeAnnotations = {
  decision: 'allowed',
  api: 'weather',
  route: 'forecast',
  consumer: 'alice',
  tier: 'free',
};

export const RATE_LIMITED: ExchangeAnnotations = {
  decision: 'refused',
  api: 'weather',
  route: 'forecast',
  consumer: 'alice',
  tier: 'free',
  reason: 'RATE_LIMITED',
  limit: 'free-minute',
  limits: [
    { name: 'free-minute', limit: 5, remaining: 0, resetSeconds: 30, algorithm: 'sliding-window' },
  ],
};
