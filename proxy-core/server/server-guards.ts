/**
 * What every HTTP server of the proxy needs against malformed or hostile clients.
 *
 * Guarantees: a parse error gets a problem+json answer (400, 431 for oversized headers, 408 for
 * slow ones) and closes that connection only; a connection that has not finished its first
 * request head within `headersMs` is answered 408 and closed, independently of Node's own
 * coarse headers-timeout sweep; a keep-alive follow-up head gets `idleMs + headersMs`; long
 * uploads are not cut (no request timeout).
 */

import type { Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log/logger.ts';
import { DeadlineSweep } from './deadline-sweep.ts';
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

  guardRequestHeads(server, options.headersMs, options.idleMs);
}

function clientErrorCode(code: string | undefined): ProxyProblemCode {
  if (code === 'HPE_HEADER_OVERFLOW') return 'HEADERS_TOO_LARGE';
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'HEADERS_TIMEOUT';
  return 'BAD_REQUEST';
}

/**
 * A deadline for every request head: `headersMs` from the connection's start (TLS handshake
 * included) for the first; `idleMs + headersMs` from the end of the last response for each
 * keep-alive follow-up, since the first byte of the next request is not observable here (the
 * parser reads the socket natively) and Node closes an idle connection silently from `idleMs`
 * on (its socket timer is coarse: up to about twice that). An idle connection still open at the
 * deadline gets the 408 and is closed, which RFC 9110 §15.5.9 allows. Node's own headersTimeout is only swept every 30 s on a server created without options, and
 * not at all on a server that never listens (the tunnel server).
 */
function guardRequestHeads(server: Server, headersMs: number, idleMs: number): void {
  const inFlight = new WeakMap<Duplex, number>();
  const expire = (socket: Duplex) => {
    // A pipelined request may have started meanwhile; its response must not be cut into.
    if ((inFlight.get(socket) ?? 0) > 0 || socket.destroyed) return;
    writeRawProblem(socket, 'HEADERS_TIMEOUT');
    setTimeout(() => socket.destroy(), 1000).unref();
  };
  const firstHead = new DeadlineSweep<Duplex>(headersMs, expire);
  const nextHead = new DeadlineSweep<Duplex>(idleMs + headersMs, expire);
  const settle = (socket: Duplex) => {
    firstHead.settle(socket);
    nextHead.settle(socket);
  };

  server.on('connection', (socket: Duplex) => {
    socket.on('error', () => socket.destroy());
    firstHead.watch(socket);
    socket.once('close', () => settle(socket));
  });
  server.on('close', () => {
    firstHead.stop();
    nextHead.stop();
  });

  // One listener per server, not a closure per request: it finds its socket through the map.
  const socketOf = new WeakMap<ServerResponse, Duplex>();
  function responseClosed(this: ServerResponse): void {
    const socket = socketOf.get(this)!;
    const left = (inFlight.get(socket) ?? 1) - 1;
    inFlight.set(socket, left);
    if (left === 0 && !socket.destroyed && this.writableFinished) nextHead.watch(socket);
  }

  server.prependListener('request', (req, res) => {
    const socket = req.socket;
    settle(socket);
    inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1);
    socketOf.set(res, socket);
    res.once('close', responseClosed);
  });
  server.prependListener('connect', (req) => settle(req.socket));
  server.prependListener('upgrade', (req) => settle(req.socket));
}
