import type { ExchangeRequest } from '../../proxy-core/server/exchange.ts';
import { headerList } from '../../proxy-core/server/header-list.ts';

let nextId = 0;

/**
 * A request as the proxy hands it to the hooks, for tests of the engine and the log that need no
 * proxy: a GET to api.weather.test over HTTPS unless `overrides` say otherwise. The raw header
 * list follows `headers` unless given.
 */
export function exchangeRequest(overrides: Partial<ExchangeRequest> = {}): ExchangeRequest {
  const headers = overrides.headers ?? {};
  return {
    id: String(++nextId),
    startedAt: Date.now(),
    clientAddress: '127.0.0.1',
    scheme: 'https',
    method: 'GET',
    host: 'api.weather.test',
    port: 443,
    path: '/v1/forecast/paris',
    ...overrides,
    headers,
    rawHeaders: overrides.rawHeaders ?? headerList(headers),
  };
}
