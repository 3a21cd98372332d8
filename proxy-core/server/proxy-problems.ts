/**
 * The proxy's own failure answers, all RFC 9457 problem+json with a stable code and a title a
 * user can act on. Details name the target host at most: never a stack, a file path or a query.
 */

import type { ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { problemResponse, type ProblemDetails } from '../util/problem.ts';

export type ProxyProblemCode =
  | 'BAD_REQUEST'
  | 'HOST_MISSING'
  | 'HEADERS_TOO_LARGE'
  | 'HEADERS_TIMEOUT'
  | 'MISDIRECTED_REQUEST'
  | 'PROXY_LOOP'
  | 'UPSTREAM_UNREACHABLE'
  | 'UPSTREAM_RESET'
  | 'UPSTREAM_BAD_RESPONSE'
  | 'UPSTREAM_TLS_ERROR'
  | 'UPSTREAM_TIMEOUT'
  | 'UPSTREAM_REFUSED_UPGRADE'
  | 'INTERNAL_ERROR';

const STATUS: Record<ProxyProblemCode, number> = {
  BAD_REQUEST: 400,
  HOST_MISSING: 400,
  HEADERS_TOO_LARGE: 431,
  HEADERS_TIMEOUT: 408,
  MISDIRECTED_REQUEST: 421,
  PROXY_LOOP: 403,
  UPSTREAM_UNREACHABLE: 502,
  UPSTREAM_RESET: 502,
  UPSTREAM_BAD_RESPONSE: 502,
  UPSTREAM_TLS_ERROR: 502,
  UPSTREAM_TIMEOUT: 504,
  UPSTREAM_REFUSED_UPGRADE: 502,
  INTERNAL_ERROR: 500,
};

const TITLE: Record<ProxyProblemCode, string> = {
  BAD_REQUEST: 'The request could not be parsed',
  HOST_MISSING: 'The request has no Host header and no absolute URI',
  HEADERS_TOO_LARGE: 'The request headers are too large',
  HEADERS_TIMEOUT: 'The request headers did not arrive in time',
  MISDIRECTED_REQUEST: 'The Host header does not match the host this connection was opened to',
  PROXY_LOOP: 'Requests through the proxy to Tollgate itself are refused',
  UPSTREAM_UNREACHABLE: 'The upstream server could not be reached',
  UPSTREAM_RESET: 'The upstream server closed the connection',
  UPSTREAM_BAD_RESPONSE: 'The upstream server sent a response that is not valid HTTP',
  UPSTREAM_TLS_ERROR: 'The upstream server’s TLS certificate was not accepted',
  UPSTREAM_TIMEOUT: 'The upstream server did not answer in time',
  UPSTREAM_REFUSED_UPGRADE: 'The upstream server refused the WebSocket upgrade',
  INTERNAL_ERROR: 'Tollgate failed to handle this request',
};

export function proxyProblem(code: ProxyProblemCode, detail?: string): ProblemDetails {
  return { code, status: STATUS[code], title: TITLE[code], ...(detail ? { detail } : {}) };
}

/** Answers on a response that has not started; a started one can only be cut. */
export function sendProblem(res: ServerResponse, code: ProxyProblemCode, detail?: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const answer = problemResponse(proxyProblem(code, detail));
  res.writeHead(answer.status, answer.headers);
  res.end(answer.body);
}

/**
 * Writes a whole HTTP/1.1 problem response on a socket that has no ServerResponse (a parse
 * error, a CONNECT that cannot be served), then closes it.
 */
export function writeRawProblem(socket: Duplex, code: ProxyProblemCode, detail?: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const answer = problemResponse(proxyProblem(code, detail));
  const head = [`HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? ''}`];
  for (const [name, value] of Object.entries(answer.headers)) head.push(`${name}: ${value}`);
  head.push('connection: close', '', '');
  socket.end(head.join('\r\n') + answer.body);
}

/** Maps an upstream socket or parser error to the problem the client sees. */
export function upstreamProblemCode(error: NodeJS.ErrnoException): ProxyProblemCode {
  const code = error.code ?? '';
  if (code === 'UPSTREAM_TIMEOUT') return 'UPSTREAM_TIMEOUT';
  if (code.startsWith('HPE_')) return 'UPSTREAM_BAD_RESPONSE';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'UPSTREAM_RESET';
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL/.test(code)) return 'UPSTREAM_TLS_ERROR';
  return 'UPSTREAM_UNREACHABLE';
}
