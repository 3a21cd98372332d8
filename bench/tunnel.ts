/**
 * The client side of HTTPS through a forward proxy, written out by hand so every proxy in the
 * HTTPS table is driven by exactly the same code: CONNECT on a fresh TCP connection, then TLS
 * to the origin inside the tunnel, verified against the CA the proxy under test signs with.
 */

import net from 'node:net';
import tls from 'node:tls';
import type { Pool } from 'undici';

export interface TunnelOptions {
  proxyPort: number;
  /** PEM bundle the client trusts: the intercepting proxy's CA (or the upstream's, direct). */
  ca: string;
  /** Give up on a tunnel or handshake after this long. */
  timeoutMs?: number;
}

/** Opens `CONNECT host:port` on the proxy and resolves with the raw tunnel socket. */
export function openTunnel(proxyPort: number, authority: string, timeoutMs = 10_000) {
  return new Promise<net.Socket>((resolve, reject) => {
    const socket = net.connect(proxyPort, '127.0.0.1');
    socket.setNoDelay(true);
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`CONNECT ${authority} timed out`)));
    let reply = Buffer.alloc(0);

    const onData = (chunk: Buffer) => {
      reply = Buffer.concat([reply, chunk]);
      const end = reply.indexOf('\r\n\r\n');
      if (end === -1) return;

      socket.off('data', onData);
      socket.off('error', reject);
      socket.setTimeout(0);
      const status = reply.subarray(0, reply.indexOf('\r\n')).toString('latin1');
      if (!/^HTTP\/1\.[01] 200/.test(status)) {
        socket.destroy();
        return reject(new Error(`CONNECT ${authority}: ${status}`));
      }
      if (reply.length > end + 4) socket.unshift(reply.subarray(end + 4));
      resolve(socket);
    };

    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
    });
  });
}

/** TLS to `hostname` over an open socket (a tunnel, or a direct TCP connection). */
export function secure(socket: net.Socket, hostname: string, ca: string) {
  return new Promise<tls.TLSSocket>((resolve, reject) => {
    const isIp = net.isIP(hostname) !== 0;
    const secured = tls.connect({
      socket,
      ca,
      servername: isIp ? undefined : hostname,
      // Node checks an IP host against IP SANs only when told which host it is.
      host: hostname,
      ALPNProtocols: ['http/1.1'],
    });
    secured.once('secureConnect', () => {
      secured.off('error', reject);
      resolve(secured);
    });
    secured.once('error', reject);
  });
}

/** An undici connector that reaches every origin through CONNECT on the given proxy. */
export function tunnelConnector(options: TunnelOptions): NonNullable<Pool.Options['connect']> {
  return (target, callback) => {
    const authority = `${target.hostname}:${target.port || 443}`;
    openTunnel(options.proxyPort, authority, options.timeoutMs)
      .then((socket) => secure(socket, target.hostname.replace(/^\[|\]$/g, ''), options.ca))
      .then(
        (secured) => callback(null, secured),
        (error: Error) => callback(error, null),
      );
  };
}
