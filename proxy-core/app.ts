/**
 * Tollgate assembled: the local CA and the proxy today; the policy engine, the store and the
 * control API are wired in here as they land. `tollgate serve` and the desktop app both start
 * Tollgate through `startTollgate`, so they cannot drift apart.
 */

import { silentLogger, type Logger } from './log/logger.ts';
import type { ExchangeHooks } from './server/exchange.ts';
import { ProxyServer, type ProxyServerOptions } from './server/proxy-server.ts';
import { formatHost } from './server/target.ts';
import { CertificateAuthority } from './server/tls/certificate-authority.ts';

export interface TollgateOptions {
  dataDir: string;
  log?: Logger;
  /** @default '127.0.0.1'; callers warn the user when it is not a loopback address */
  listenHost?: string;
  /** @default 8877; 0 picks a free port */
  proxyPort?: number;
  /** @default 8878; requests through the proxy to it are refused */
  controlPort?: number;
  hostMap?: Record<string, string>;
  reverse?: { target: string; port: number };
  insecureUpstreamHosts?: string[];
  hooks?: ExchangeHooks;
  captureBodyBytes?: number;
  timeouts?: ProxyServerOptions['timeouts'];
}

export interface Tollgate {
  readonly dataDir: string;
  readonly ca: CertificateAuthority;
  readonly proxy: ProxyServer;
  /** `http://127.0.0.1:8877`, for HTTP_PROXY / HTTPS_PROXY. */
  readonly proxyUrl: string;
  /** `http://127.0.0.1:9000` when a reverse listener runs. */
  readonly reverseUrl?: string;
  close(): Promise<void>;
}

export async function startTollgate(options: TollgateOptions): Promise<Tollgate> {
  const log = options.log ?? silentLogger;
  const host = options.listenHost ?? '127.0.0.1';

  const ca = await CertificateAuthority.loadOrCreate({ dataDir: options.dataDir, log });
  const proxy = await ProxyServer.start({
    host,
    port: options.proxyPort ?? 8877,
    ca,
    hooks: options.hooks,
    hostMap: options.hostMap,
    reverse: options.reverse,
    insecureUpstreamHosts: options.insecureUpstreamHosts,
    controlPort: options.controlPort ?? 8878,
    captureBodyBytes: options.captureBodyBytes,
    timeouts: options.timeouts,
    log,
  });

  const base = `http://${formatHost(connectableHost(host))}`;
  return {
    dataDir: options.dataDir,
    ca,
    proxy,
    proxyUrl: `${base}:${proxy.port}`,
    ...(proxy.reversePort === undefined ? {} : { reverseUrl: `${base}:${proxy.reversePort}` }),
    close: () => proxy.close(),
  };
}

/** A wildcard listen address is reached through loopback. */
function connectableHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}
