/**
 * Which host a request is for, and which server it goes to.
 *
 * Guarantees: inside a CONNECT tunnel the tunnel's target decides, and a Host header naming
 * another host is refused (421) rather than followed, so a client cannot reach a host it did not
 * open a tunnel to. A request that would land back on one of Tollgate's own loopback ports is
 * refused (403) before any socket is opened.
 */

import type { IncomingMessage } from 'node:http';
import type { ProxyProblemCode } from './proxy-problems.ts';
import {
  formatHost,
  isLoopbackHost,
  parseAbsoluteUrl,
  parseAuthority,
  parseRequestTarget,
  type Authority,
  type RequestTarget,
} from './target.ts';

/** How a connection reached us; decides how its requests are routed. */
export type Arrival =
  | { kind: 'forward' }
  | { kind: 'tunnel'; scheme: 'http' | 'https'; target: Authority }
  | { kind: 'reverse'; upstream: UpstreamBase };

/** A parsed base URL such as `http://127.0.0.1:5000/prefix`. */
export interface UpstreamBase {
  scheme: 'http' | 'https';
  host: string;
  port: number;
  /** Path prefix without a trailing slash; `''` for none. */
  pathPrefix: string;
}

export interface Upstream extends UpstreamBase {
  /** Path and query sent upstream: the prefix plus the request's own path. */
  path: string;
}

export const FORWARD_ARRIVAL: Arrival = Object.freeze({ kind: 'forward' });

/** Parses a `--map`/`--reverse` target; throws with the offending text when it is not a URL. */
export function parseUpstreamBase(text: string): UpstreamBase {
  const target = parseAbsoluteUrl(text);
  if (!target || target.path.includes('?') || target.path.includes('#')) {
    throw new Error(`'${text}' is not an http:// or https:// base URL without a query`);
  }
  const { scheme, host, port, path } = target;
  return { scheme, host, port, pathPrefix: path.replace(/\/+$/, '') };
}

/** Where the client meant to go, or the problem that stops the request here. */
export function resolveTarget(
  req: IncomingMessage,
  arrival: Arrival,
): RequestTarget | ProxyProblemCode {
  const url = req.url ?? '';
  const host = req.headers.host;

  if (arrival.kind === 'reverse') {
    if (!url.startsWith('/')) return 'BAD_REQUEST';
    const { scheme, host: upstreamHost, port } = arrival.upstream;
    return { scheme, host: upstreamHost, port, path: url };
  }

  if (arrival.kind === 'tunnel') {
    const { scheme, target } = arrival;
    const defaultPort = scheme === 'https' ? 443 : 80;
    const named = url.startsWith('/')
      ? host && parseAuthority(host, defaultPort)
      : parseAbsoluteUrl(url);
    if (!named) return host || !url.startsWith('/') ? 'BAD_REQUEST' : 'HOST_MISSING';
    if (named.host !== target.host || named.port !== target.port) return 'MISDIRECTED_REQUEST';
    const path = url.startsWith('/') ? url : (named as RequestTarget).path;
    return { scheme, host: target.host, port: target.port, path };
  }

  const target = parseRequestTarget(url, host, 'http');
  if (!target) return host || !url.startsWith('/') ? 'BAD_REQUEST' : 'HOST_MISSING';
  return target;
}

export interface UpstreamChoice {
  /** From `ForwardVerdict.upstream`, which wins over the host map. */
  override?: string;
  hostMap: ReadonlyMap<string, UpstreamBase>;
  /** Tollgate's own ports, refused on loopback hosts. */
  ownPorts: ReadonlySet<number>;
}

/** The server that receives the request, or `PROXY_LOOP`. */
export function chooseUpstream(
  target: RequestTarget,
  arrival: Arrival,
  choice: UpstreamChoice,
): Upstream | ProxyProblemCode {
  const base =
    (choice.override !== undefined ? parseOverride(choice.override) : undefined) ??
    (arrival.kind === 'reverse' ? arrival.upstream : choice.hostMap.get(target.host));

  if (base === undefined) {
    if (isLoopbackHost(target.host) && choice.ownPorts.has(target.port)) return 'PROXY_LOOP';
    const { scheme, host, port, path } = target;
    return { scheme, host, port, pathPrefix: '', path };
  }
  if (isLoopbackHost(base.host) && choice.ownPorts.has(base.port)) return 'PROXY_LOOP';
  const { scheme, host, port, pathPrefix } = base;
  return { scheme, host, port, pathPrefix, path: pathPrefix + target.path };
}

/**
 * Verdicts name their upstream as a string, usually one of a few per policy: each is parsed
 * once. Bounded, as a verdict could build URLs from request data.
 */
const overrides = new Map<string, UpstreamBase>();

function parseOverride(text: string): UpstreamBase {
  let base = overrides.get(text);
  if (base === undefined) {
    base = Object.freeze(parseUpstreamBase(text));
    if (overrides.size >= 256) overrides.clear();
    overrides.set(text, base);
  }
  return base;
}

/** `http://host:port/path`, for logs and error details; the query is left out. */
export function describeUpstream(upstream: Upstream): string {
  const path = upstream.path.split('?')[0];
  return `${upstream.scheme}://${formatHost(upstream.host)}:${upstream.port}${path}`;
}
