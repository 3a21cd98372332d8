/**
 * What every HTTP server of the proxy needs against malformed or hostile clients.
 *
 * Guarantees: a parse error gets a problem+json answer (400, 431 for oversized headers, 408 for
 * slow ones) and closes that connection only; a connection that has not finished its first
 * request head within `headersMs` is answered 408 and closed (closed quietly if it sent
 * nothing), independently of Node's own coarse headers-timeout sweep; a keep-alive follow-up
 * head gets `idleMs + headersMs`; long uploads are not cut (no request timeout).
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

const IN_FLIGHT = Symbol('tollgate.requestsInFlight');
const SOCKET = Symbol('tollgate.guardedSocket');
const READ_BEFORE = Symbol('tollgate.bytesReadBeforeWait');
interface Guarded {
  /** On a socket: requests whose responses have not closed yet. */
  [IN_FLIGHT]?: number;
  /** On a socket: its byte count when the wait for a request head began. */
  [READ_BEFORE]?: number | undefined;
  /** On a response: its connection, which the response forgets before it closes. */
  [SOCKET]?: Duplex & Guarded;
  /** Bytes received so far, on the sockets that count them. */
  bytesRead?: number;
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
 * deadline is closed: with a 408 (RFC 9110 §15.5.9) when part of a head arrived, quietly when
 * nothing did, as Node and nginx close an idle connection, since a client may take an
 * unasked-for 408 as the answer to the request it is sending meanwhile. Node's own
 * headersTimeout is only swept every 30 s on a server created without options, and not at all
 * on a server that never listens (the tunnel server).
 */
function guardRequestHeads(server: Server, headersMs: number, idleMs: number): void {
  const expire = (socket: Duplex & Guarded) => {
    // A pipelined request may have started meanwhile; its response must not be cut into.
    if ((socket[IN_FLIGHT] ?? 0) > 0 || socket.destroyed) return;
    const idle = socket.bytesRead !== undefined && socket.bytesRead === socket[READ_BEFORE];
    if (idle) {
      socket.destroy();
      return;
    }
    writeRawProblem(socket, 'HEADERS_TIMEOUT');
    setTimeout(() => socket.destroy(), 1000).unref();
  };
  const firstHead = new DeadlineSweep<Duplex>(headersMs, expire);
  const nextHead = new DeadlineSweep<Duplex>(idleMs + headersMs, expire);
  const wait = (sweep: DeadlineSweep<Duplex>, socket: Duplex & Guarded) => {
    socket[READ_BEFORE] = socket.bytesRead;
    sweep.watch(socket);
  };
  const settle = (socket: Duplex) => {
    firstHead.settle(socket);
    nextHead.settle(socket);
  };

  server.on('connection', (socket: Duplex) => {
    socket.on('error', () => socket.destroy());
    wait(firstHead, socket);
    socket.once('close', () => settle(socket));
  });
  server.on('close', () => {
    firstHead.stop();
    nextHead.stop();
  });

  // One listener per server, not a closure per request. Counts and sockets are kept on the
  // objects themselves: WeakMap entries per response cost measurably more, in GC time too.
  function responseClosed(this: ServerResponse & Guarded): void {
    const socket = this[SOCKET]!;
    const left = (socket[IN_FLIGHT] ?? 1) - 1;
    socket[IN_FLIGHT] = left;
    if (left === 0 && !socket.destroyed && this.writableFinished) wait(nextHead, socket);
  }

  server.prependListener('request', (req, res: ServerResponse & Guarded) => {
    const socket: Duplex & Guarded = req.socket;
    settle(socket);
    socket[IN_FLIGHT] = (socket[IN_FLIGHT] ?? 0) + 1;
    res[SOCKET] = socket;
    // on, not once: 'close' comes once anyway, and once wraps the listener per call.
    res.on('close', responseClosed);
  });
  server.prependListener('connect', (req) => settle(req.socket));
  server.prependListener('upgrade', (req) => settle(req.socket));
}
