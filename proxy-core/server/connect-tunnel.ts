/**
 * CONNECT, taken over from http-mitm-proxy: answer 200, look at the first byte, and for TLS
 * terminate it in-process with a certificate from our CA, then hand the decrypted socket to one
 * internal HTTP server (never listening). No loopback TCP hop and no server per host.
 *
 * Guarantees: a CONNECT target that is not a valid host:port is answered 400 and never reaches
 * certificate code; the tunnel remembers its target so requests inside it are routed by it
 * (see routing.ts); a tunnel that stays silent is closed after `idleMs`; socket errors end that
 * socket only.
 */

import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { Logger } from '../log/logger.ts';
import type { Arrival } from './routing.ts';
import { writeRawProblem } from './proxy-problems.ts';
import { parseAuthority, type Authority } from './target.ts';

/** What the tunnel needs of the CA; `CertificateAuthority` provides it. */
export interface InterceptionAuthority {
  readonly dir: string;
  secureContextFor(hostname: string): Promise<tls.SecureContext>;
  readonly sniCallback: (
    servername: string,
    cb: (err: Error | null, ctx?: tls.SecureContext) => void,
  ) => void;
}

export interface TunnelOptions {
  ca: InterceptionAuthority;
  /** Receives the decrypted (or plain) connections; its requests are routed by `arrivalOf`. */
  internalServer: Server;
  idleMs: number;
  /** Asked per tunnel; true requests (but does not require) a client certificate. */
  wantsClientCertificate: (host: string) => boolean;
  log: Logger;
}

const TLS_HANDSHAKE = 0x16;

export class ConnectTunnels {
  readonly #arrivals = new WeakMap<Duplex, Arrival>();
  readonly #options: TunnelOptions;
  readonly #open = new Set<Duplex>();

  constructor(options: TunnelOptions) {
    this.#options = options;
  }

  /** The arrival of a connection handed to the internal server. */
  arrivalOf(socket: Duplex): Arrival | undefined {
    return this.#arrivals.get(socket);
  }

  /** For http-mitm-proxy's `onConnect`: the socket is ours from here on. */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const raw = socket as Socket;
    raw.on('error', (error) => this.#options.log.debug('tunnel socket error', { error }));

    const target = parseAuthority(req.url ?? '');
    if (!target) {
      writeRawProblem(raw, 'BAD_REQUEST', 'CONNECT needs a host:port target.');
      return;
    }

    this.track(raw);
    raw.setTimeout(this.#options.idleMs, () => raw.destroy());
    raw.write('HTTP/1.1 200 Connection Established\r\n\r\n');

    if (head.length > 0) this.#dispatch(raw, target, head);
    else raw.once('data', (first: Buffer) => this.#dispatch(raw, target, first));
  }

  /** Ends every open tunnel and tracked socket, for shutdown. */
  destroyAll(): void {
    for (const socket of this.#open) socket.destroy();
  }

  #dispatch(raw: Socket, target: Authority, first: Buffer): void {
    raw.pause();
    if (first[0] === TLS_HANDSHAKE) {
      // TLSSocket reads what is already buffered before it takes over the handle.
      raw.unshift(first);
      this.#intercept(raw, target);
      return;
    }

    // Plain HTTP in a tunnel (ws:// through CONNECT): the parser takes over the handle, so the
    // first chunk is replayed as an event rather than unshifted.
    raw.setTimeout(0);
    this.#arrivals.set(raw, { kind: 'tunnel', scheme: 'http', target });
    this.#options.internalServer.emit('connection', raw);
    raw.emit('data', first);
    raw.resume();
  }

  #intercept(raw: Socket, target: Authority): void {
    const { ca, log, internalServer, wantsClientCertificate } = this.#options;
    const askForCertificate = wantsClientCertificate(target.host);

    // IP literals and old clients send no SNI; this context answers them.
    ca.secureContextFor(target.host).then(
      (fallback) => {
        if (raw.destroyed) return;
        raw.setTimeout(0);
        const secure = new tls.TLSSocket(raw, {
          isServer: true,
          secureContext: fallback,
          SNICallback: ca.sniCallback,
          ALPNProtocols: ['http/1.1'],
          requestCert: askForCertificate,
          rejectUnauthorized: false,
        });
        this.track(secure);
        secure.on('error', (error) => {
          log.debug('TLS handshake with client failed', { host: target.host, error });
          secure.destroy();
        });
        this.#arrivals.set(secure, { kind: 'tunnel', scheme: 'https', target });
        internalServer.emit('connection', secure);
      },
      (error: Error) => {
        log.warn('no certificate for CONNECT target', { host: target.host, error });
        raw.destroy();
      },
    );
  }

  /** Adds a socket to those `destroyAll` ends: tunnels, and upgraded WebSocket connections. */
  track(socket: Duplex): void {
    this.#open.add(socket);
    socket.once('close', () => this.#open.delete(socket));
  }
}
