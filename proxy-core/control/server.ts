/**
 * The local control API: HTTP + JSON and an event stream, for the UI, the CLI and scripts.
 *
 * Security guarantees (see guard.ts for the checks themselves):
 * - It listens on a loopback address only; any other host is refused at start.
 * - Every request, upgrade and stream passes Host (anti DNS-rebinding), Origin and
 *   Sec-Fetch-Site (anti CSRF / cross-site WebSocket) checks, then the per-launch token, before
 *   any route runs or any 101/200 is sent; unauthenticated callers cannot even learn which
 *   routes exist (401 comes before 404).
 * - The token is written only to `<dataDir>/control-token`, mode 0600, removed at close.
 * - Bodies are size-capped and validated (400 with the errors); answers never carry a stack
 *   trace: unexpected failures are a bare 500 problem, details go to the log.
 */

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { readFileSync } from 'node:fs';
import { silentLogger, type Logger } from '../log/logger.ts';
import { DEFAULT_CONTROL_PORT } from '../contract/control-api.ts';
import { RequestLog } from '../traffic/request-log.ts';
import { Metrics } from '../traffic/metrics.ts';
import { AlertWatcher } from '../traffic/alerts.ts';
import { Masker, maskingFromPolicy, type MaskingOptions } from '../traffic/masking.ts';
import type {
  ControlCertificateAuthority,
  ControlContext,
  ControlEngine,
  ControlStore,
  ParsePolicy,
  RuntimeStatus,
} from './context.ts';
import { ControlGuard } from './guard.ts';
import {
  createControlToken,
  removeControlEndpoint,
  writeControlEndpoint,
} from './endpoint-file.ts';
import { EventStreamHub } from './event-stream.ts';
import { handle, refuseUpgrade } from './dispatch.ts';
import { problemOf, sendProblem } from './http-io.ts';
import { buildOpenApi } from './openapi.ts';
import { PolicyService, type PolicyServiceOptions } from './policy-service.ts';
import { CONTROL_ROUTES } from './routes/index.ts';
import { ALERT_SETTINGS_KEY, alertThresholdsSchema } from './routes/traffic.ts';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

export interface ControlApiOptions {
  /** Loopback only. @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @default 8878 */
  port?: number;
  /** Where `control-token` is written for the CLI; no file when absent. */
  dataDir?: string;
  /** Origins of the UI allowed besides the API's own, e.g. `http://localhost:5173`. */
  allowedOrigins?: readonly string[];
  version?: string;
  log?: Logger;
  /** Created (10,000 entries) when absent; give it to the proxy as a `completed` hook. */
  requestLog?: RequestLog;
  metrics?: Metrics;
  alerts?: AlertWatcher;
  engine?: ControlEngine;
  store?: ControlStore;
  ca?: ControlCertificateAuthority;
  /** Proxy ports and the like, read at each `GET /api/status`. */
  status?: () => RuntimeStatus;
  applyPolicy?: PolicyServiceOptions['applyPolicy'];
  parsePolicy?: ParsePolicy;
  /** Extra names masked in the log besides the policy's credential headers and parameters. */
  masking?: MaskingOptions;
  /** Metrics tick of the event stream. @default 1000 */
  tickMs?: number;
}

export interface ControlApi {
  readonly host: string;
  readonly port: number;
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly token: string;
  readonly endpointFile: string | null;
  readonly requestLog: RequestLog;
  readonly metrics: Metrics;
  readonly alerts: AlertWatcher;
  /** Record policies applied outside the API (the start policy, file edits) in the history. */
  readonly policy: PolicyService;
  close(): Promise<void>;
}

export async function startControlApi(options: ControlApiOptions = {}): Promise<ControlApi> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK_HOSTS.has(host)) {
    throw new Error(`control API: host must be a loopback address (127.0.0.1 or ::1), not ${host}`);
  }

  const log = (options.log ?? silentLogger).child('control');
  const requestLog = options.requestLog ?? new RequestLog();
  const metrics = options.metrics ?? new Metrics();
  const alerts = options.alerts ?? new AlertWatcher();
  const detach = [
    options.metrics ? null : requestLog.subscribe(metrics.observe),
    options.alerts ? null : requestLog.subscribe(alerts.observe),
  ];
  const savedThresholds = alertThresholdsSchema.safeParse(
    options.store?.data.settings[ALERT_SETTINGS_KEY],
  );
  if (savedThresholds.success) alerts.setThresholds(savedThresholds.data);
  const engine = options.engine;
  if (engine) metrics.setUsageSource(() => engine.usage());

  const followPolicy = (policy: Parameters<typeof maskingFromPolicy>[0]) => {
    const fromPolicy = maskingFromPolicy(policy);
    const extra = options.masking ?? {};
    requestLog.setMasker(
      new Masker({
        headers: [...(fromPolicy.headers ?? []), ...(extra.headers ?? [])],
        queryParams: [...(fromPolicy.queryParams ?? []), ...(extra.queryParams ?? [])],
        bodyFields: extra.bodyFields ?? [],
      }),
    );
  };
  const policy = new PolicyService({
    store: options.store,
    engine: options.engine,
    applyPolicy: options.applyPolicy,
    parsePolicy: options.parsePolicy,
    onApplied: followPolicy,
  });
  followPolicy(policy.parsed());

  const server = http.createServer();
  // Bodies are small JSON; a client dribbling one for longer is not a client we serve.
  server.requestTimeout = 30_000;
  await listen(server, host, options.port ?? DEFAULT_CONTROL_PORT);
  const port = (server.address() as { port: number }).port;
  const token = createControlToken();
  const guard = new ControlGuard({ port, token, allowedOrigins: options.allowedOrigins ?? [] });
  const hub = new EventStreamHub({ requestLog, metrics, alerts, tickMs: options.tickMs });
  const version = options.version ?? packageVersion();

  const context: ControlContext = {
    version,
    startedAt: new Date(),
    port,
    dataDir: options.dataDir ?? null,
    log,
    requestLog,
    metrics,
    alerts,
    engine: options.engine,
    store: options.store,
    ca: options.ca,
    runtime: options.status ?? (() => ({})),
    policy,
    openapi: () => buildOpenApi(CONTROL_ROUTES, version),
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res, { guard, hub, context }).catch((error: unknown) => {
      const problem = problemOf(error);
      if (problem.code === 'INTERNAL_ERROR') log.error('control request failed', { error });
      if (!res.headersSent) sendProblem(res, problem, guard.corsHeaders(req));
      else res.destroy();
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex) => refuseUpgrade(req, socket, guard));
  server.on('clientError', (_error, socket: Duplex) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
  });

  const endpointFile = options.dataDir
    ? await writeControlEndpoint(options.dataDir, {
        host,
        port,
        token,
        pid: process.pid,
        startedAt: context.startedAt.toISOString(),
      })
    : null;
  log.info('control API listening', { host, port });

  return {
    host,
    port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    token,
    endpointFile,
    requestLog,
    metrics,
    alerts,
    policy,
    async close() {
      hub.close();
      for (const stop of detach) stop?.();
      // Metrics it made are its own; histograms live outside the JS heap until freed.
      if (!options.metrics) metrics.close();
      if (options.dataDir) await removeControlEndpoint(options.dataDir, token);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function listen(server: http.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`control API: port ${port} on ${host} is in use (pass another, or 0)`)
          : error,
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function packageVersion(): string {
  try {
    const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
    return (JSON.parse(text) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}
