/**
 * The proxies under test, each started as its own process on 127.0.0.1: Tollgate, the
 * hand-written reference, and Debian's mitmdump when installed. Both Node proxies run as
 * bin/tollgate runs Tollgate (built JS, the same node flags), so ×ref compares code, not setup.
 */

import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import {
  builtNodeArgs,
  freePort,
  startWithPort,
  startWithReadyLine,
  UnavailableError,
} from './children.ts';
import type { BenchContext } from './context.ts';

/** `tollgate` runs as `serve` does; `tollgate-bare` is the proxy alone (no store, engine, log). */
export type TargetName = 'direct' | 'tollgate' | 'tollgate-bare' | 'reference' | 'mitmdump';

export interface ProxyTarget {
  name: TargetName;
  port: number;
  pid: number;
  /** The CA an HTTPS client must trust to accept this proxy's intercepted certificates. */
  caPath: string;
  /** Tollgate's data dir (its control-token file is there). */
  dataDir?: string;
  stop(): Promise<void>;
}

/** Extra switches for Tollgate runs, passed through to `run-tollgate.ts`. */
export interface TollgateOptions {
  policyFile?: string;
  /** Request log and metrics off, for the on-vs-off comparison. */
  noTraffic?: boolean;
  /** `host=url` pairs for host mapping. */
  map?: string[];
  /** Extra node flags (`--cpu-prof`, …); the reference proxy takes them too. */
  nodeFlags?: string[];
}

export const MITMDUMP = '/usr/bin/mitmdump';

let tollgateRuns = 0;

/** Starts a proxy, or resolves to a note saying why it cannot run here. */
export async function startProxy(
  name: Exclude<TargetName, 'direct'>,
  context: BenchContext,
  tollgate: TollgateOptions = {},
): Promise<ProxyTarget | { skipped: string }> {
  try {
    if (name === 'reference') return await startReference(context, tollgate.nodeFlags);
    if (name === 'mitmdump') return await startMitmdump(context);
    if (name === 'tollgate-bare')
      return await startTollgate(context, { ...tollgate, noTraffic: true });
    return await startTollgate(context, tollgate);
  } catch (error) {
    if (error instanceof UnavailableError) return { skipped: error.message };
    throw error;
  }
}

async function startReference(context: BenchContext, nodeFlags?: string[]): Promise<ProxyTarget> {
  const args = ['--key', context.pki.leafKeyPath, '--cert', context.pki.leafChainPath];
  const started = await startWithReadyLine<{ port: number }>(
    await builtNodeArgs('reference-proxy.ts', [...args, '--ca', context.pki.caCertPath], nodeFlags),
  );
  return { name: 'reference', ...handle(started), caPath: context.pki.caCertPath };
}

async function startTollgate(context: BenchContext, options: TollgateOptions) {
  const dataDir = path.join(context.tmp, `tollgate-${++tollgateRuns}`);
  const args = ['--data-dir', dataDir];
  if (options.policyFile) args.push('--policy', options.policyFile);
  if (options.noTraffic) args.push('--no-traffic');
  for (const pair of options.map ?? []) args.push('--map', pair);

  const started = await startWithReadyLine<{ port: number; caPath: string }>(
    await builtNodeArgs('run-tollgate.ts', args, options.nodeFlags),
    // Tollgate verifies upstream TLS; the bench upstream's CA is added, nothing is disabled.
    { env: { NODE_EXTRA_CA_CERTS: context.pki.caCertPath } },
  );
  const name: TargetName = options.noTraffic ? 'tollgate-bare' : 'tollgate';
  return { name, ...handle(started), caPath: started.ready.caPath, dataDir };
}

async function startMitmdump(context: BenchContext): Promise<ProxyTarget> {
  if (!existsSync(MITMDUMP)) throw new UnavailableError(`${MITMDUMP} is not installed`);

  const confdir = path.join(context.tmp, 'mitmproxy');
  await mkdir(confdir, { recursive: true });
  const port = await freePort();
  const args = [
    '--quiet',
    '--listen-host',
    '127.0.0.1',
    '--listen-port',
    String(port),
    '--set',
    `confdir=${confdir}`,
    // Connect upstream only when a request needs it, as the Node proxies do.
    '--set',
    'connection_strategy=lazy',
    '--set',
    `ssl_verify_upstream_trusted_ca=${context.pki.caCertPath}`,
    '--set',
    'flow_detail=0',
    '--set',
    'termlog_verbosity=error',
    '--set',
    'stream_large_bodies=1m',
  ];
  const started = await startWithPort([MITMDUMP, args], port, { timeoutMs: 30_000 });
  return {
    name: 'mitmdump',
    port,
    pid: started.pid,
    caPath: path.join(confdir, 'mitmproxy-ca-cert.pem'),
    stop: started.stop,
  };
}

function handle(started: { pid: number; ready: { port: number }; stop(): Promise<void> }) {
  return { port: started.ready.port, pid: started.pid, stop: started.stop };
}

/** Runs `body` against a Tollgate started with `options`, and always stops it. */
export async function withTollgate<T>(
  context: BenchContext,
  options: TollgateOptions,
  body: (proxy: ProxyTarget) => Promise<T>,
): Promise<T | { skipped: string }> {
  const proxy = await startProxy('tollgate', context, options);
  if ('skipped' in proxy) return proxy;
  try {
    return await body(proxy);
  } finally {
    await proxy.stop();
  }
}
