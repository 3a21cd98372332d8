/**
 * What every HTTP server of the proxy needs against malformed or hostile clients.
 *
 * Guarantees: a parse error gets a problem+json answer (400, 431 for oversized headers, 408 for
 * slow ones) and closes that connection only; a connection that has not finished its first
 * request head within `headersMs` is answered 408 and closed, independently of Node's own
 * coarse (30 s) headers-timeout sweep; long uploads are not cut (no request timeout).
 */

import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log/logger.ts';
import { writeRawProblem, type ProxyProblemCode } from './proxy-problems.ts';

export interface GuardOptions {
  headersMs: number;
  idleMs: number;
  log: Logger;
}

export function guardServer(server: Server, options: GuardOptions): void {
  // Missing Host is ours to answer (problem+json, and absolute-form requests do not need it).
  (server as Server & { requireHostHeader: boolean }).requireHostHeader = false;
  server.headersTimeout = options.headersMs;
  server.requestTimeout = 0;
  server.keepAliveTimeout = options.idleMs;

  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    options.log.debug('client sent a request that cannot be parsed', { code: error.code });
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    writeRawProblem(socket, clientErrorCode(error.code));
  });

  guardFirstHead(server, options.headersMs);
}

function clientErrorCode(code: string | undefined): ProxyProblemCode {
  if (code === 'HPE_HEADER_OVERFLOW') return 'HEADERS_TOO_LARGE';
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'HEADERS_TIMEOUT';
  return 'BAD_REQUEST';
}

/** A deadline for the first request head of each connection, TLS handshake included. */
function guardFirstHead(server: Server, headersMs: number): void {
  const deadlines = new WeakMap<Duplex, NodeJS.Timeout>();
  const clear = (socket: Duplex) => {
    const timer = deadlines.get(socket);
    if (timer === undefined) return;
    clearTimeout(timer);
    deadlines.delete(socket);
  };

  server.on('connection', (socket: Duplex) => {
    socket.on('error', () => socket.destroy());
    const timer = setTimeout(() => {
      deadlines.delete(socket);
      writeRawProblem(socket, 'HEADERS_TIMEOUT');
      setTimeout(() => socket.destroy(), 1000).unref();
    }, headersMs);
    timer.unref();
    deadlines.set(socket, timer);
    socket.once('close', () => clear(socket));
  });

  server.prependListener('request', (req) => clear(req.socket));
  server.prependListener('connect', (req) => clear(req.socket));
  server.prependListener('upgrade', (req) => clear(req.socket));
}
