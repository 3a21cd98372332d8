/**
 * The request to the upstream: end-to-end headers plus the verdict's edits, the Host the
 * upstream should see, and TLS verified unless the host is on the insecure allowlist.
 */

import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP, type Socket } from 'node:net';
import type { ExchangeRequest, ExchangeTimings, ForwardVerdict } from './exchange.ts';
import type { ExchangeSettings } from './exchange-handler.ts';
import { endToEndRawHeaders, setsHeader } from './hop-by-hop.ts';
import type { Arrival, Upstream } from './routing.ts';
import { hostHeader, type RequestTarget } from './target.ts';

export function openUpstream(
  settings: ExchangeSettings,
  req: IncomingMessage,
  request: ExchangeRequest,
  arrival: Arrival,
  upstream: Upstream,
  verdict: ForwardVerdict,
  bodiless: boolean,
): http.ClientRequest {
  const headers = upstreamHeaders(req, request, arrival, upstream, verdict);
  // Headers given as a list are written when the request is made, before its body is known:
  // without this a body-less POST would go out chunked where Node used to send a length of 0.
  if (bodiless && !NO_BODY_BY_DEFAULT.has(req.method ?? 'GET') && !hasContentLength(req)) {
    headers.push('Content-Length', '0');
  }

  if (upstream.scheme === 'http') {
    return http.request({
      method: req.method,
      host: upstream.host,
      port: upstream.port,
      path: upstream.path,
      headers,
      agent: settings.httpAgent,
    });
  }

  const insecure =
    settings.insecureUpstreamHosts.has(upstream.host) ||
    settings.insecureUpstreamHosts.has(request.host);
  return https.request({
    method: req.method,
    host: upstream.host,
    port: upstream.port,
    path: upstream.path,
    headers,
    agent: settings.httpsAgent,
    servername: isIP(upstream.host) ? undefined : upstream.host,
    rejectUnauthorized: !insecure,
  });
}

/**
 * The client's end-to-end headers with the verdict's edits, and the Host the upstream should
 * see: a reverse proxy names the upstream; a forward proxy keeps the host the client asked for,
 * also when the host map sends it elsewhere (like curl --resolve). A verdict may set its own.
 */
export function upstreamHeaders(
  req: IncomingMessage,
  target: RequestTarget,
  arrival: Arrival,
  upstream: Upstream,
  verdict: ForwardVerdict,
): string[] {
  const set = verdict.setRequestHeaders;
  const headers = endToEndRawHeaders(req.rawHeaders, {
    remove: verdict.removeRequestHeaders,
    set,
  });
  if (!setsHeader(set, 'host')) {
    headers.push(
      'Host',
      arrival.kind === 'reverse'
        ? hostHeader(upstream.host, upstream.port, upstream.scheme)
        : hostHeader(target.host, target.port, target.scheme),
    );
  }
  return headers;
}

/** Methods Node sends chunked when a body is not announced; the others go without one. */
const NO_BODY_BY_DEFAULT = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);

/** True when the request has no body: neither a length above 0 nor a transfer coding. */
export function isBodiless(req: IncomingMessage): boolean {
  const { headers } = req;
  const length = headers['content-length'];
  return headers['transfer-encoding'] === undefined && (length === undefined || length === '0');
}

function hasContentLength(req: IncomingMessage): boolean {
  return req.headers['content-length'] !== undefined;
}

/** Where DNS, connect and TLS times of a fresh upstream socket are written. */
export interface ConnectionTiming {
  startedAt: number;
  timings: Omit<ExchangeTimings, 'total'>;
}

const TIMING = Symbol('tollgate.connectionTiming');
interface Timed {
  [TIMING]?: ConnectionTiming;
}

/**
 * Records connection phases when the request gets a new socket; a reused keep-alive socket has
 * none. Listeners are shared functions reading their target from the emitter, not closures.
 */
export function measureConnection(request: http.ClientRequest, timing: ConnectionTiming): void {
  (request as http.ClientRequest & Timed)[TIMING] = timing;
  request.on('socket', onSocket);
}

function onSocket(this: http.ClientRequest & Timed, socket: Socket & Timed): void {
  if (!socket.connecting) return;
  socket[TIMING] = this[TIMING];
  socket.once('lookup', onLookup);
  socket.once('connect', onConnect);
  socket.once('secureConnect', onSecureConnect);
}

function onLookup(this: Socket & Timed): void {
  const timing = this[TIMING];
  if (timing) timing.timings.dns = Date.now() - timing.startedAt;
}

function onConnect(this: Socket & Timed): void {
  const timing = this[TIMING];
  if (timing) timing.timings.connect = Date.now() - timing.startedAt;
  // A plain socket is done here; it outlives this exchange in the keep-alive pool.
  if (!('encrypted' in this)) this[TIMING] = undefined;
}

function onSecureConnect(this: Socket & Timed): void {
  const timing = this[TIMING];
  if (timing) timing.timings.tls = Date.now() - timing.startedAt;
  this[TIMING] = undefined;
}
