/**
 * The proxy's listeners: the forward proxy (http-mitm-proxy's server, with CONNECT, requests and
 * upgrades taken over by our handlers) and an optional reverse-proxy listener.
 *
 * Guarantees: listens on 127.0.0.1 unless told otherwise; never loads or generates a CA other
 * than ours (start fails if the CA store is missing); upstream TLS is verified except for hosts
 * on `insecureUpstreamHosts`, and NODE_TLS_REJECT_UNAUTHORIZED is never touched; `close()`
 * releases every port, socket and timer it opened. See docs/decisions/proxy-front-door.md.
 */

import { existsSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { Proxy } from 'http-mitm-proxy';
import { silentLogger, type Logger } from '../log/logger.ts';
import { ConnectTunnels, type InterceptionAuthority } from './connect-tunnel.ts';
import type { ExchangeHooks } from './exchange.ts';
import { ExchangeHandler, type ExchangeSettings } from './exchange-handler.ts';
import { FORWARD_ARRIVAL, parseUpstreamBase, type Arrival, type UpstreamBase } from './routing.ts';
import { guardServer } from './server-guards.ts';
import { upstreamDeadlines } from './deadline-sweep.ts';
import { relayUpgrade } from './websocket-relay.ts';

export interface ProxyServerOptions {
  /** @default '127.0.0.1' */
  host?: string;
  /** @default 8877; 0 picks a free port */
  port?: number;
  ca: InterceptionAuthority;
  hooks?: ExchangeHooks;
  /** Hostname → base URL, e.g. `{ 'api.example.test': 'http://127.0.0.1:5000' }`. */
  hostMap?: Record<string, string>;
  /** A second listener sending every request to `target`. */
  reverse?: { target: string; port: number; host?: string };
  /** Hosts whose upstream TLS certificate is not verified. */
  insecureUpstreamHosts?: string[];
  /** Tollgate's control port, refused as a proxy target on loopback. */
  controlPort?: number;
  /** @default 65536 bytes kept of each body for the exchange record */
  captureBodyBytes?: number;
  timeouts?: {
    /** @default 10000 */
    headersMs?: number;
    /** @default 60000 */
    idleTunnelMs?: number;
    /** @default 30000 */
    upstreamMs?: number;
  };
  log?: Logger;
}

export class ProxyServer {
  readonly port: number;
  readonly reversePort?: number;
  readonly #settings: ExchangeSettings;
  readonly #servers: http.Server[];
  readonly #tunnels: ConnectTunnels;

  private constructor(init: {
    port: number;
    reversePort?: number;
    settings: ExchangeSettings;
    servers: http.Server[];
    tunnels: ConnectTunnels;
  }) {
    this.port = init.port;
    if (init.reversePort !== undefined) this.reversePort = init.reversePort;
    this.#settings = init.settings;
    this.#servers = init.servers;
    this.#tunnels = init.tunnels;
  }

  static async start(options: ProxyServerOptions): Promise<ProxyServer> {
    const log = (options.log ?? silentLogger).child('proxy');
    const host = options.host ?? '127.0.0.1';
    const headersMs = options.timeouts?.headersMs ?? 10_000;
    const idleMs = options.timeouts?.idleTunnelMs ?? 60_000;
    const upstreamMs = options.timeouts?.upstreamMs ?? 30_000;
    requireCaStore(options.ca.dir);

    const settings: ExchangeSettings = {
      hooks: options.hooks ?? {},
      hostMap: parseHostMap(options.hostMap ?? {}),
      ownPorts: new Set(options.controlPort ? [options.controlPort] : []),
      insecureUpstreamHosts: new Set(
        (options.insecureUpstreamHosts ?? []).map((h) => h.toLowerCase()),
      ),
      captureBodyBytes: options.captureBodyBytes ?? 65_536,
      upstreamMs,
      deadlines: upstreamDeadlines(upstreamMs),
      httpAgent: new http.Agent({
        keepAlive: true,
        maxSockets: 256,
        maxFreeSockets: 64,
        scheduling: 'lifo',
      }),
      httpsAgent: new https.Agent({
        keepAlive: true,
        maxSockets: 256,
        maxFreeSockets: 64,
        scheduling: 'lifo',
      }),
      log,
      track: (socket) => tunnels.track(socket),
    };
    const reverseBase = options.reverse ? parseUpstreamBase(options.reverse.target) : undefined;
    const handler = new ExchangeHandler(settings);

    // Decrypted tunnel traffic lands here; it never listens.
    const internal = http.createServer({ connectionsCheckingInterval: Math.min(headersMs, 1000) });
    const tunnels = new ConnectTunnels({
      ca: options.ca,
      internalServer: internal,
      idleMs,
      wantsClientCertificate: (h) => settings.hooks.wantsClientCertificate?.(h) ?? false,
      log,
    });
    const arrivalIn = (socket: Duplex): Arrival => tunnels.arrivalOf(socket) ?? FORWARD_ARRIVAL;
    guardServer(internal, { headersMs, idleMs, log });
    internal.on('request', (req, res) => handler.handle(req, res, arrivalIn(req.socket)));
    internal.on('upgrade', (req, socket, head) =>
      relayUpgrade(settings, req, socket, head, arrivalIn(req.socket)),
    );

    const forward = await listenFrontDoor({
      host,
      port: options.port ?? 8877,
      caDir: options.ca.dir,
      settings,
      tunnels,
      log,
    });
    guardServer(forward, { headersMs, idleMs, log });
    forward.on('request', (req, res) => handler.handle(req, res, FORWARD_ARRIVAL));
    forward.on('upgrade', (req, socket, head) =>
      relayUpgrade(settings, req, socket, head, FORWARD_ARRIVAL),
    );
    const port = (forward.address() as AddressInfo).port;
    (settings.ownPorts as Set<number>).add(port);
    const servers = [forward, internal];

    let reversePort: number | undefined;
    if (options.reverse && reverseBase) {
      const arrival: Arrival = { kind: 'reverse', upstream: reverseBase };
      const reverse = http.createServer();
      guardServer(reverse, { headersMs, idleMs, log });
      reverse.on('request', (req, res) => handler.handle(req, res, arrival));
      reverse.on('upgrade', (req, socket, head) =>
        relayUpgrade(settings, req, socket, head, arrival),
      );
      servers.push(reverse);
      try {
        reversePort = await listen(reverse, options.reverse.host ?? host, options.reverse.port);
      } catch (error) {
        await closeAll(servers, settings, tunnels);
        throw error;
      }
      (settings.ownPorts as Set<number>).add(reversePort);
    }

    log.debug('proxy listening', { host, port, reversePort });
    return new ProxyServer({ port, reversePort, settings, servers, tunnels });
  }

  /** Swaps the hooks; requests already deciding keep the old ones. */
  setHooks(hooks: ExchangeHooks): void {
    this.#settings.hooks = hooks;
  }

  /** Replaces the host map; throws (changing nothing) if a target is not a base URL. */
  setHostMap(map: Record<string, string>): void {
    this.#settings.hostMap = parseHostMap(map);
  }

  close(): Promise<void> {
    return closeAll(this.#servers, this.#settings, this.#tunnels);
  }
}

/**
 * http-mitm-proxy's `listen()` creates and binds the forward server; we then replace its
 * request and upgrade listeners (its request path mangles IPv6 targets and answers errors in
 * text/html) and keep its CONNECT dispatch, into which our `onConnect` takes the socket for good.
 */
async function listenFrontDoor(o: {
  host: string;
  port: number;
  caDir: string;
  settings: ExchangeSettings;
  tunnels: ConnectTunnels;
  log: Logger;
}): Promise<http.Server> {
  const mitm = new Proxy();
  mitm.onConnect((req, socket, head: Buffer) => o.tunnels.accept(req, socket, head));

  return new Promise((resolve, reject) => {
    let listening = false;
    // It reports server errors (EADDRINUSE included) only here, and on the console otherwise.
    mitm._onError = (kind: string, _ctx: unknown, error: Error) => {
      if (!listening) reject(new Error(`cannot listen on ${o.host}:${o.port}: ${error.message}`));
      else o.log.debug('front door error', { kind, error });
    };
    mitm._onSocketError = (kind: string, error: Error) =>
      o.log.debug('socket error', { kind, error });

    mitm.listen(
      {
        host: o.host,
        port: o.port,
        keepAlive: true,
        sslCaDir: o.caDir,
        httpAgent: o.settings.httpAgent,
        httpsAgent: o.settings.httpsAgent,
      },
      (error?: Error | null) => {
        if (error) return reject(error);
        listening = true;
        const server = mitm.httpServer!;
        server.removeAllListeners('request');
        server.removeAllListeners('upgrade');
        resolve(server);
      },
    );
  });
}

function requireCaStore(dir: string): void {
  // Without these files http-mitm-proxy would generate its own CA into our store.
  for (const file of [
    path.join(dir, 'certs', 'ca.pem'),
    path.join(dir, 'keys', 'ca.private.key'),
  ]) {
    if (!existsSync(file)) throw new Error(`the CA store is incomplete: ${file} is missing`);
  }
}

function parseHostMap(map: Record<string, string>): Map<string, UpstreamBase> {
  const parsed = new Map<string, UpstreamBase>();
  for (const [host, target] of Object.entries(map)) {
    const name = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
    try {
      parsed.set(name, parseUpstreamBase(target));
    } catch (error) {
      throw new Error(`host map entry '${host}': ${(error as Error).message}`, { cause: error });
    }
  }
  return parsed;
}

function listen(server: http.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (error) =>
      reject(new Error(`cannot listen on ${host}:${port}: ${error.message}`)),
    );
    server.listen({ host, port }, () => resolve((server.address() as AddressInfo).port));
  });
}

async function closeAll(
  servers: http.Server[],
  settings: ExchangeSettings,
  tunnels: ConnectTunnels,
): Promise<void> {
  tunnels.destroyAll();
  await Promise.all(
    servers.map(
      (server) =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
          if (!server.listening) resolve();
        }),
    ),
  );
  settings.deadlines.stop();
  settings.httpAgent.destroy();
  settings.httpsAgent.destroy();
}
