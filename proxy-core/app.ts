/**
 * Tollgate assembled: the store, the local CA, the policy engine, the request log, the proxy and
 * the control API. `tollgate serve` and the desktop app both start Tollgate through
 * `startTollgate`, so they cannot drift apart.
 *
 * Start order is chosen so a failure leaves nothing behind: the store is opened first (it takes
 * the data directory's lock, so a second instance stops before touching anything), and every
 * part started so far is closed again when a later one fails.
 */

import { silentLogger, type Logger } from './log/logger.ts';
import { startControlApi, type ControlApi } from './control/server.ts';
import {
  loadPolicyFile,
  parsePolicy,
  PolicyEngine,
  watchPolicyFile,
  type Policy,
  type PolicyError,
  type PolicyWatch,
} from './policies/index.ts';
import { combineHooks, type ExchangeHooks } from './server/exchange.ts';
import { ProxyServer, type ProxyServerOptions } from './server/proxy-server.ts';
import { formatHost } from './server/target.ts';
import { CertificateAuthority } from './server/tls/certificate-authority.ts';
import { Store } from './store/store.ts';
import { RequestLog } from './traffic/request-log.ts';

export interface TollgateOptions {
  dataDir: string;
  log?: Logger;
  /** @default '127.0.0.1'; callers warn the user when it is not a loopback address */
  listenHost?: string;
  /** @default 8877; 0 picks a free port */
  proxyPort?: number;
  /** @default 8878; 0 picks a free port; requests through the proxy to it are refused */
  controlPort?: number;
  /** A policy file to enforce and watch; without one, the policy kept in the store is used. */
  policyFile?: string;
  hostMap?: Record<string, string>;
  reverse?: { target: string; port: number };
  insecureUpstreamHosts?: string[];
  /** @default 10000 entries kept by the live request log */
  requestLogCapacity?: number;
  /** Origins of UIs allowed to call the control API besides its own (the desktop window's). */
  allowedOrigins?: string[];
  /**
   * Replaces Tollgate's own governance (store, policy engine, request log, control API) with
   * these hooks alone: a bare proxy, for tests and benchmarks of the proxy itself.
   */
  hooks?: ExchangeHooks;
  /** @default 65536 bytes of each body captured for the request log; 0 captures none */
  captureBodyBytes?: number;
  timeouts?: ProxyServerOptions['timeouts'];
}

export interface Tollgate {
  readonly dataDir: string;
  readonly ca: CertificateAuthority;
  readonly proxy: ProxyServer;
  /** Absent in bare-proxy mode (`hooks` given). */
  readonly engine?: PolicyEngine;
  readonly store?: Store;
  readonly control?: ControlApi;
  /** `http://127.0.0.1:8877`, for HTTP_PROXY / HTTPS_PROXY. */
  readonly proxyUrl: string;
  /** `http://127.0.0.1:9000` when a reverse listener runs. */
  readonly reverseUrl?: string;
  close(): Promise<void>;
}

/** A policy file that cannot be enforced; the message lists every error with its path. */
export class PolicyFileError extends Error {
  constructor(
    readonly file: string,
    readonly errors: PolicyError[],
  ) {
    const lines = errors.map(
      (e) => `  ${e.path}${e.line ? ` (line ${e.line})` : ''}: ${e.message}`,
    );
    super(`${file} is not a valid policy:\n${lines.join('\n')}`);
  }
}

export async function startTollgate(options: TollgateOptions): Promise<Tollgate> {
  if (options.hooks) return startBareProxy(options, options.hooks);

  const log = options.log ?? silentLogger;
  const cleanup = new Cleanup(log);

  try {
    const store = await Store.open({ dataDir: options.dataDir, log });
    cleanup.add(() => store.close());

    const ca = await CertificateAuthority.loadOrCreate({ dataDir: options.dataDir, log });
    const { policy, document } = await initialPolicy(options.policyFile, store);

    const engine = new PolicyEngine({ policy, store, log });
    cleanup.add(async () => engine.close());

    const requestLog = new RequestLog({
      capacity: options.requestLogCapacity,
      bodyCapBytes: options.captureBodyBytes,
    });
    const running: { proxy?: ProxyServer } = {};
    const control = await startControlApi({
      host: controlHost(options.listenHost),
      port: options.controlPort ?? 8878,
      dataDir: options.dataDir,
      allowedOrigins: options.allowedOrigins,
      log,
      requestLog,
      engine,
      store,
      ca,
      status: () => ({ proxyPort: running.proxy?.port, reversePort: running.proxy?.reversePort }),
    });
    cleanup.add(() => control.close());

    // The control API starts first so the proxy knows the port it must refuse to loop into.
    const hooks = combineHooks(engine, requestLog);
    const proxy = await startProxy({ ...options, controlPort: control.port }, ca, hooks, log);
    running.proxy = proxy;
    cleanup.add(() => proxy.close());

    control.policy.record(document, options.policyFile ? 'file' : 'start', undefined, policy);

    if (options.policyFile) {
      const watch = await followPolicyFile(options.policyFile, engine, control, log);
      cleanup.add(async () => watch.close());
    }

    return {
      ...addresses(options, proxy),
      dataDir: options.dataDir,
      ca,
      proxy,
      engine,
      store,
      control,
      close: () => cleanup.run(),
    };
  } catch (error) {
    await cleanup.run();
    throw error;
  }
}

async function startBareProxy(options: TollgateOptions, hooks: ExchangeHooks): Promise<Tollgate> {
  const log = options.log ?? silentLogger;
  const ca = await CertificateAuthority.loadOrCreate({ dataDir: options.dataDir, log });
  const proxy = await startProxy(options, ca, hooks, log);

  return {
    ...addresses(options, proxy),
    dataDir: options.dataDir,
    ca,
    proxy,
    close: () => proxy.close(),
  };
}

function startProxy(
  options: TollgateOptions,
  ca: CertificateAuthority,
  hooks: ExchangeHooks,
  log: Logger,
): Promise<ProxyServer> {
  return ProxyServer.start({
    host: options.listenHost ?? '127.0.0.1',
    port: options.proxyPort ?? 8877,
    ca,
    hooks,
    hostMap: options.hostMap,
    reverse: options.reverse,
    insecureUpstreamHosts: options.insecureUpstreamHosts,
    controlPort: options.controlPort ?? 8878,
    captureBodyBytes: options.captureBodyBytes,
    timeouts: options.timeouts,
    log,
  });
}

/**
 * The policy to start with: the file when one is given (it is the source of truth and must be
 * valid), else the one kept in the store, else an empty policy that governs nothing.
 */
async function initialPolicy(
  file: string | undefined,
  store: Store,
): Promise<{ policy: Policy; document: unknown }> {
  if (file) {
    const loaded = await loadPolicyFile(file);
    if (!loaded.ok) throw new PolicyFileError(file, loaded.errors);
    return { policy: loaded.policy, document: loaded.policy };
  }

  const stored = store.data.policy;
  if (stored !== null) {
    const parsed = parsePolicy(JSON.stringify(stored), 'stored policy');
    // A stored policy that no longer validates (hand-edited file) must not be dropped silently.
    if (!parsed.ok) throw new PolicyFileError('the stored policy', parsed.errors);
    return { policy: parsed.policy, document: stored };
  }

  const empty = parsePolicy('version: 1\n');
  if (!empty.ok) throw new Error('the empty policy does not validate');
  return { policy: empty.policy, document: { version: 1 } };
}

function followPolicyFile(
  file: string,
  engine: PolicyEngine,
  control: ControlApi,
  log: Logger,
): Promise<PolicyWatch> {
  return watchPolicyFile(file, {
    log,
    onPolicy(policy) {
      engine.replacePolicy(policy);
      control.policy.record(policy, 'file', undefined, policy);
      log.info('policy file applied', { file });
    },
    onErrors(errors) {
      log.warn('policy file change refused; the previous policy stays in force', {
        file,
        errors: errors.map((e) => `${e.path}: ${e.message}`).join('; '),
      });
    },
  });
}

/** The control API is loopback-only even when the proxy listens wider. */
function controlHost(listenHost: string | undefined): string {
  return listenHost === '::1' ? '::1' : '127.0.0.1';
}

function addresses(options: TollgateOptions, proxy: ProxyServer) {
  const base = `http://${formatHost(connectableHost(options.listenHost ?? '127.0.0.1'))}`;
  return {
    proxyUrl: `${base}:${proxy.port}`,
    ...(proxy.reversePort === undefined ? {} : { reverseUrl: `${base}:${proxy.reversePort}` }),
  };
}

/** A wildcard listen address is reached through loopback. */
function connectableHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

/** Closes what was started, newest first, and keeps going when one close fails. */
class Cleanup {
  readonly #steps: (() => Promise<void>)[] = [];

  constructor(private readonly log: Logger) {}

  add(step: () => Promise<void>): void {
    this.#steps.push(step);
  }

  async run(): Promise<void> {
    const steps = this.#steps.splice(0).reverse();
    for (const step of steps) {
      await step().catch((error: unknown) => this.log.error('shutdown step failed', { error }));
    }
  }
}
