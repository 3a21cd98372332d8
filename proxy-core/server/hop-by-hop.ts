/**
 * Header hygiene at the proxy boundary (RFC 9110 §7.6.1): hop-by-hop headers describe one
 * connection and must not be forwarded, in either direction. That is Connection and every header
 * it names, Keep-Alive, TE, Trailer, Transfer-Encoding (Node frames bodies itself), Upgrade
 * (except on a WebSocket handshake, which re-adds it) and every Proxy-* header, so credentials
 * meant for the proxy never reach the upstream.
 */

import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

const ALWAYS_HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
]);

/**
 * A copy of `headers` without hop-by-hop headers. `host` is dropped as well: the caller sets
 * the Host the upstream should see.
 */
export function endToEndHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = namedByConnection(headers.connection);
  const result: OutgoingHttpHeaders = {};

  for (const name in headers) {
    if (ALWAYS_HOP_BY_HOP.has(name) || name.startsWith('proxy-')) continue;
    if (named !== undefined && named.has(name)) continue;
    result[name] = headers[name];
  }
  return result;
}

/** Response side: the same rule, keeping the upstream's Host-free header set. */
export const endToEndResponseHeaders = endToEndHeaders;

function namedByConnection(value: string | undefined): Set<string> | undefined {
  // The usual values name nothing beyond the always-dropped headers: skip the Set.
  if (!value || value === 'keep-alive' || value === 'close' || value === 'Keep-Alive') {
    return undefined;
  }
  const names = new Set<string>();
  for (const token of value.split(',')) {
    const name = token.trim().toLowerCase();
    if (name) names.add(name);
  }
  return names;
}
