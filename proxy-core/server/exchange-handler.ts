/**
 * One request, from arrival to the record of how it ended: route it, ask the hooks for a
 * verdict, then answer on the upstream's behalf or forward it with streamed bodies.
 *
 * Guarantees: hop-by-hop and Proxy-* headers never cross the proxy; upstream TLS is verified
 * unless the host is on the insecure allowlist; a client that goes away tears down its upstream
 * request; every proxy failure is a problem+json answer without internals; every exchange
 * with a routable target is reported to `completed` exactly once.
 */

import type http from 'node:http';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type https from 'node:https';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log/logger.ts';
import { BodyTap } from './body-tap.ts';
import {
  FORWARD_UNCHANGED,
  type ExchangeHooks,
  type ExchangeRecord,
  type ExchangeRequest,
  type ForwardVerdict,
  type RespondVerdict,
  type Verdict,
} from './exchange.ts';
import { buildRequest } from './exchange-request.ts';
import { TurnQueue } from './turn-queue.ts';
import { headerList, type HeaderList } from './header-list.ts';
import { endToEndRawHeaders } from './hop-by-hop.ts';
import { sendProblem, upstreamProblemCode, type ProxyProblemCode } from './proxy-problems.ts';
import {
  chooseUpstream,
  describeUpstream,
  resolveTarget,
  type Arrival,
  type Upstream,
  type UpstreamBase,
} from './routing.ts';
import { hostHeader, type RequestTarget } from './target.ts';
import type { DeadlineSweep } from './deadline-sweep.ts';
import {
  isBodiless,
  measureConnection,
  openUpstream,
  type ConnectionTiming,
} from './upstream-request.ts';

export interface ExchangeSettings {
  hooks: ExchangeHooks;
  hostMap: ReadonlyMap<string, UpstreamBase>;
  ownPorts: ReadonlySet<number>;
  insecureUpstreamHosts: ReadonlySet<string>;
  captureBodyBytes: number;
  /** For WebSocket handshakes; HTTP requests use `deadlines`, which holds the same time. */
  upstreamMs: number;
  deadlines: DeadlineSweep<http.ClientRequest>;
  httpAgent: http.Agent;
  httpsAgent: https.Agent;
  log: Logger;
  /** Keeps a long-lived socket (an upgraded WebSocket) where shutdown will find it. */
  track(socket: Duplex): void;
}

export class ExchangeHandler {
  constructor(readonly settings: ExchangeSettings) {}

  handle(req: IncomingMessage, res: ServerResponse, arrival: Arrival): void {
    const target = resolveTarget(req, arrival);
    if (typeof target === 'string') {
      req.resume();
      sendProblem(
        res,
        target,
        target === 'MISDIRECTED_REQUEST' ? misdirectDetail(arrival) : undefined,
      );
      return;
    }

    const request = buildRequest(req, target, arrival);
    new Exchange(this.settings, req, res, request, arrival).start();
  }
}

/**
 * Where the listeners below find their exchange. Listeners are shared functions reading it from
 * their emitter (`this`), not closures made per request: fewer allocations on the hot path.
 */
const EXCHANGE = Symbol('tollgate.exchange');
interface Carrier {
  [EXCHANGE]?: Exchange;
}

/**
 * The state of one request while it is in flight. Requests are routed as they arrive, then
 * started (verdict, upstream request) and later answered a turn's worth at a time: see
 * turn-queue.ts for why.
 */
class Exchange {
  static readonly #arrivals = new TurnQueue<Exchange>(Exchange.#start, 'exchanges');
  static readonly #answers = new TurnQueue<Exchange>((exchanges) => {
    for (const exchange of exchanges) exchange.#relay();
  }, 'exchanges');

  /**
   * A turn's requests are decided on first, all of them, and only then sent on. Deciding one
   * request after another keeps the policy engine's code and data hot; interleaved with
   * Node's work for each upstream request, the same decisions cost measurably more
   * (docs/benchmarks.md, item 4).
   */
  static #start(this: void, arrivals: readonly Exchange[]): void {
    for (const exchange of arrivals) exchange.#decide();
    for (const exchange of arrivals) {
      if (exchange.#decidedNow) exchange.#act(exchange.#verdict!);
    }
  }

  static onClientClose(this: ServerResponse & Carrier): void {
    this[EXCHANGE]!.#finish();
  }

  static onUpstreamResponse(this: http.ClientRequest & Carrier, upstreamRes: IncomingMessage) {
    this[EXCHANGE]!.#responded(upstreamRes);
  }

  static onUpstreamError(this: http.ClientRequest & Carrier, error: NodeJS.ErrnoException) {
    this[EXCHANGE]!.#upstreamFailed(error);
  }

  /** A reset mid-body: the client must see a cut response, not a short "complete" one. */
  static onUpstreamBodyError(this: IncomingMessage & Carrier): void {
    const exchange = this[EXCHANGE]!;
    exchange.#error ??= 'UPSTREAM_RESET';
    exchange.res.destroy();
  }

  #verdict: Verdict | undefined;
  /** Set when `decide` answered synchronously, for #start's second step. */
  #decidedNow = false;
  #error: string | undefined;
  #requestTap: BodyTap | undefined;
  #responseTap: BodyTap | undefined;
  #timing: ConnectionTiming | undefined;
  #upstreamMs: number | undefined;
  /** The headers written to the client, for the record. */
  #sentHeaders: HeaderList | undefined;
  /** How many of them, at the end, the verdict added. */
  #addedHeaders = 0;
  #upstreamRequest: http.ClientRequest | undefined;
  #upstreamResponse: IncomingMessage | undefined;
  #upstream: Upstream | undefined;

  constructor(
    readonly settings: ExchangeSettings,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly request: ExchangeRequest,
    readonly arrival: Arrival,
  ) {}

  start(): void {
    // Listening from arrival on: a client that leaves before #decide is still seen and recorded.
    (this.res as ServerResponse & Carrier)[EXCHANGE] = this;
    // on, not once: 'close' comes once anyway, and once wraps the listener per call.
    this.res.on('close', Exchange.onClientClose);
    // An aborted upload errors the request stream; #finish handles the rest.
    this.req.on('error', ignore);
    Exchange.#arrivals.push(this);
  }

  /** Asks for a verdict; one given at once is acted on by #start, a promised one when it comes. */
  #decide(): void {
    // A client that left while the request waited is not decided on, so not counted either.
    if (this.res.destroyed) return;

    let verdict: Verdict | Promise<Verdict>;
    try {
      verdict = this.settings.hooks.decide?.(this.request) ?? FORWARD_UNCHANGED;
    } catch (error) {
      this.#failInternally(error);
      return;
    }

    if (verdict instanceof Promise) {
      verdict.then(
        (v) => this.#act(v),
        (error: unknown) => this.#failInternally(error),
      );
    } else {
      this.#verdict = verdict;
      this.#decidedNow = true;
    }
  }

  #act(verdict: Verdict): void {
    this.#verdict = verdict;
    if (this.res.destroyed) return;

    if (verdict.delayMs && verdict.delayMs > 0)
      setTimeout(() => this.#go(verdict), verdict.delayMs);
    else this.#go(verdict);
  }

  #go(verdict: Verdict): void {
    // A verdict with an invalid header value throws inside Node; it must fail this exchange only.
    try {
      if (verdict.kind === 'respond') this.#respond(verdict);
      else this.#forward(verdict);
    } catch (error) {
      this.#failInternally(error);
    }
  }

  #respond(verdict: RespondVerdict): void {
    this.#requestTap = this.#tap(this.req);
    this.req.resume();

    // Lower-cased so a verdict's own Content-Length cannot end up sent twice.
    const headers: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(verdict.headers))
      headers[name.toLowerCase()] = value;
    headers['content-length'] = String(Buffer.byteLength(verdict.body));
    const list = headerList(headers);
    this.#sentHeaders = list;
    this.res.writeHead(verdict.status, list);
    this.res.end(verdict.body);
  }

  #forward(verdict: ForwardVerdict): void {
    const { settings, req, request } = this;
    let upstream: Upstream | ProxyProblemCode;
    try {
      // The request is a RequestTarget itself; a copy is made only for a rewritten path.
      const target = verdict.path === undefined ? request : toTarget(request, verdict.path);
      upstream = chooseUpstream(target, this.arrival, {
        override: verdict.upstream,
        hostMap: settings.hostMap,
        ownPorts: settings.ownPorts,
      });
    } catch (error) {
      this.#failInternally(error);
      return;
    }
    if (typeof upstream === 'string') {
      this.#fail(upstream);
      return;
    }

    const bodiless = isBodiless(req);
    const upstreamRequest: http.ClientRequest & Carrier = openUpstream(
      settings,
      req,
      request,
      this.arrival,
      upstream,
      verdict,
      bodiless,
    );
    this.#upstream = upstream;
    this.#upstreamRequest = upstreamRequest;
    upstreamRequest[EXCHANGE] = this;
    upstreamRequest.on('response', Exchange.onUpstreamResponse);
    upstreamRequest.on('error', Exchange.onUpstreamError);
    if (settings.hooks.completed) {
      this.#timing = { startedAt: request.startedAt, timings: {} };
      measureConnection(upstreamRequest, this.#timing);
    }
    settings.deadlines.watch(upstreamRequest);

    if (bodiless) {
      // Nothing to stream: no pipe and its listeners. Node drains the request when it ends.
      upstreamRequest.end();
      return;
    }
    // pipe rather than pipeline: an upstream failure must not destroy the client's socket,
    // which still has to carry the 502. A client that leaves is seen in #finish.
    this.#requestTap = this.#tap(req);
    req.pipe(upstreamRequest);
  }

  #upstreamFailed(error: NodeJS.ErrnoException): void {
    const upstream = describeUpstream(this.#upstream!);
    this.settings.deadlines.settle(this.#upstreamRequest!);
    this.settings.log.debug('upstream failed', { upstream, error });
    this.#fail(upstreamProblemCode(error), upstream);
  }

  #responded(upstreamRes: IncomingMessage & Carrier): void {
    this.settings.deadlines.settle(this.#upstreamRequest!);
    this.#upstreamMs = Date.now() - this.request.startedAt;
    upstreamRes[EXCHANGE] = this;
    upstreamRes.on('error', Exchange.onUpstreamBodyError);
    this.#upstreamResponse = upstreamRes;
    Exchange.#answers.push(this);
  }

  /** The upstream's response to the client; its body waits, paused, until piped here. */
  #relay(): void {
    const { res } = this;
    const upstreamRes = this.#upstreamResponse!;
    // Gone, or already answered (a problem sent while the response waited for its turn).
    if (res.destroyed || res.headersSent) {
      upstreamRes.destroy();
      return;
    }

    const verdict = this.#verdict as ForwardVerdict;
    try {
      // Raw headers in, raw headers out: Node builds no header object for either side.
      const headers = endToEndRawHeaders(upstreamRes.rawHeaders, {
        set: verdict.setResponseHeaders,
      });
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, headers);
      this.#sentHeaders = headers;
      this.#addedHeaders = verdict.setResponseHeaders?.length ?? 0;
    } catch {
      // Node's parser is more lenient than its writer (e.g. a control character in the reason).
      upstreamRes.destroy();
      this.#fail('UPSTREAM_BAD_RESPONSE');
      return;
    }
    this.#responseTap = this.#tap(upstreamRes);
    // pipe, not pipeline: pipeline pays for an AbortController and a DOMException per call.
    upstreamRes.pipe(res);
  }

  #fail(code: ProxyProblemCode, detail?: string): void {
    this.#error ??= code;
    this.req.resume();
    sendProblem(this.res, code, detail);
  }

  #failInternally(error: unknown): void {
    this.settings.log.error('exchange failed inside Tollgate', { error: error as Error });
    this.#error ??= 'INTERNAL_ERROR';
    this.req.resume();
    sendProblem(this.res, 'INTERNAL_ERROR');
  }

  /** Bodies are only counted and kept for someone who reads the record. */
  #tap(stream: IncomingMessage): BodyTap | undefined {
    if (!this.settings.hooks.completed) return undefined;
    return new BodyTap(stream, this.settings.captureBodyBytes);
  }

  #finish(): void {
    // Also covers a client that left mid-upload: its socket closing closes the response.
    if (!this.res.writableFinished) this.#upstreamRequest?.destroy();
    const completed = this.settings.hooks.completed;
    if (!completed) return;

    const { request, res } = this;
    const record: ExchangeRecord = {
      request,
      annotations: this.#verdict?.annotations,
      status: res.headersSent ? res.statusCode : 0,
      // The list written (no copy); a proxy problem's headers are not recorded.
      responseHeaders: this.#sentHeaders ?? NO_HEADERS,
      addedResponseHeaders: this.#addedHeaders,
      requestBytes: this.#requestTap?.bytes ?? 0,
      responseBytes: this.#responseTap?.bytes ?? 0,
      timings: {
        ...this.#timing?.timings,
        upstream: this.#upstreamMs,
        total: Date.now() - request.startedAt,
      },
      requestBody: this.#requestTap?.captured(),
      responseBody: this.#responseTap?.captured(),
      error: this.#error ?? (res.writableFinished ? undefined : 'CLIENT_ABORTED'),
    };
    try {
      completed(record);
    } catch (error) {
      this.settings.log.error('completed hook failed', { error: error as Error });
    }
  }
}

function ignore(): void {}

const NO_HEADERS: HeaderList = Object.freeze([]);

function toTarget(request: ExchangeRequest, path = request.path): RequestTarget {
  return { scheme: request.scheme, host: request.host, port: request.port, path };
}

function misdirectDetail(arrival: Arrival): string | undefined {
  if (arrival.kind !== 'tunnel') return undefined;
  const { target, scheme } = arrival;
  return `This connection was opened to ${hostHeader(target.host, target.port, scheme)}.`;
}
