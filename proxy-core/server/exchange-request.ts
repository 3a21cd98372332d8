import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { ClientCertificate, ExchangeRequest } from './exchange.ts';
import type { Arrival } from './routing.ts';
import type { RequestTarget } from './target.ts';

let lastId = 0;

/** Process-unique, increasing exchange ids. */
export function nextExchangeId(): string {
  lastId += 1;
  return String(lastId);
}

/** What the hooks see of a request: routed target, headers as sent, client identity. */
export function buildRequest(
  req: IncomingMessage,
  target: RequestTarget,
  arrival: Arrival,
): ExchangeRequest {
  // One object shape for every request (optional fields present, maybe undefined): the hooks'
  // hot paths see a single hidden class.
  return {
    id: nextExchangeId(),
    startedAt: Date.now(),
    clientAddress: req.socket.remoteAddress ?? '',
    scheme: target.scheme,
    method: req.method ?? 'GET',
    host: target.host,
    port: target.port,
    path: target.path,
    headers: req.headers,
    rawHeaders: req.rawHeaders,
    clientCertificate: clientCertificateOf(req),
    reverse: arrival.kind === 'reverse' ? true : undefined,
  };
}

/** Per connection: a certificate does not change within one TLS session. */
const certificates = new WeakMap<object, ClientCertificate | null>();

function clientCertificateOf(req: IncomingMessage): ClientCertificate | undefined {
  const socket = req.socket as TLSSocket;
  if (!socket.encrypted) return undefined;

  let certificate = certificates.get(socket);
  if (certificate === undefined) {
    certificate = readCertificate(socket);
    certificates.set(socket, certificate);
  }
  return certificate ?? undefined;
}

function readCertificate(socket: TLSSocket): ClientCertificate | null {
  const peer = socket.getPeerCertificate();
  if (!peer || !peer.fingerprint256) return null;
  const subject = Object.entries(peer.subject ?? {})
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(',');
  return { fingerprint256: peer.fingerprint256, subject };
}
