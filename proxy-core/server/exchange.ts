/**
 * The seam between the proxy and what governs it.
 *
 * The proxy knows sockets, TLS and HTTP; it knows nothing of keys, tiers or limits. For every
 * request it builds an `ExchangeRequest`, asks `decide` for a `Verdict` (forward, possibly
 * altered, or answer on the upstream's behalf), and reports the finished exchange to
 * `completed`. The policy engine implements `decide`; the request log and metrics listen to
 * `completed`. Several hook sets run in order through `combineHooks`.
 */

import type { ExchangeAnnotations } from '../contract/traffic.ts';
import type { HeaderList } from './header-list.ts';

export type HeaderMap = Record<string, string | string[] | undefined>;

export interface ClientCertificate {
  /** SHA-256 fingerprint, upper-case hex pairs joined by colons, as Node reports it. */
  fingerprint256: string;
  /** Subject distinguished name, e.g. `CN=client-a,O=Acme`. */
  subject: string;
}

export interface ExchangeRequest {
  /** Unique within the process, increasing. */
  readonly id: string;
  /** Wall-clock start, epoch milliseconds. */
  readonly startedAt: number;
  readonly clientAddress: string;
  readonly scheme: 'http' | 'https';
  readonly method: string;
  /** Lower-case hostname without brackets (`::1`, not `[::1]`). */
  readonly host: string;
  readonly port: number;
  /** Path and query exactly as the client sent them. */
  readonly path: string;
  /** Lower-case names, as Node parses them: what the hooks look headers up in. */
  readonly headers: HeaderMap;
  /** The same headers as received, names in the client's case: what the log keeps. */
  readonly rawHeaders: HeaderList;
  /** Present on intercepted TLS connections where the client offered a certificate. */
  readonly clientCertificate?: ClientCertificate;
  /** Set when the request arrived on a reverse-proxy listener rather than the forward proxy. */
  readonly reverse?: boolean;
}

export interface ForwardVerdict {
  kind: 'forward';
  /** Base URL (`http://127.0.0.1:5000`) replacing the request's scheme, host and port. */
  upstream?: string;
  /** Path and query to send upstream instead of the client's (e.g. a credential query removed). */
  path?: string;
  /**
   * Header edits, every name in lower case. The `set…` lists are `[name, value, …]`; each
   * header in them replaces any of the same name (see hop-by-hop.ts).
   */
  removeRequestHeaders?: readonly string[];
  setRequestHeaders?: HeaderList;
  setResponseHeaders?: HeaderList;
  /** Extra latency before forwarding (fault injection). */
  delayMs?: number;
  annotations?: ExchangeAnnotations;
}

export interface RespondVerdict {
  kind: 'respond';
  status: number;
  headers: Readonly<Record<string, string>>;
  body: string;
  delayMs?: number;
  annotations?: ExchangeAnnotations;
}

export type Verdict = ForwardVerdict | RespondVerdict;

export const FORWARD_UNCHANGED: ForwardVerdict = Object.freeze({
  kind: 'forward',
}) as ForwardVerdict;

export interface ExchangeTimings {
  /** Milliseconds from the request's arrival; absent where not measured (reused sockets). */
  dns?: number;
  connect?: number;
  tls?: number;
  /** Time to the upstream's response headers. */
  upstream?: number;
  total: number;
}

export interface CapturedBody {
  bytes: Buffer;
  /** True when the body was longer than the capture cap; it still streamed through whole. */
  truncated: boolean;
}

export interface ExchangeRecord {
  request: ExchangeRequest;
  annotations?: ExchangeAnnotations;
  /** Status sent to the client; 0 when the client went away before any answer. */
  status: number;
  /** The headers sent to the client (none when it got no answer), in sending order. */
  responseHeaders: HeaderList;
  /**
   * How many entries at the end of `responseHeaders` a verdict added (`setResponseHeaders`):
   * text made from the policy, which the log need not search for the client's secrets.
   */
  addedResponseHeaders?: number;
  requestBytes: number;
  responseBytes: number;
  timings: ExchangeTimings;
  requestBody?: CapturedBody;
  responseBody?: CapturedBody;
  /** A problem code when the proxy itself failed the exchange (`UPSTREAM_TIMEOUT`, …). */
  error?: string;
}

export interface ExchangeHooks {
  /** May return synchronously; the hot path avoids a promise when it can. */
  decide?(request: ExchangeRequest): Verdict | Promise<Verdict>;
  completed?(record: ExchangeRecord): void;
  /** Asked once per intercepted TLS connection: request (not require) a client certificate? */
  wantsClientCertificate?(host: string): boolean;
}

/**
 * Runs `decide` hooks in order until one answers or alters the request, and tells every
 * `completed` hook about each exchange.
 */
export function combineHooks(...hookSets: ExchangeHooks[]): ExchangeHooks {
  const deciders = hookSets.filter((h) => h.decide);
  const listeners = hookSets.filter((h) => h.completed);
  const certificateAskers = hookSets.filter((h) => h.wantsClientCertificate);

  return {
    decide(request) {
      if (deciders.length === 1) return deciders[0]!.decide!(request);
      return decideInOrder(deciders, request, 0);
    },
    completed(record) {
      for (const listener of listeners) listener.completed!(record);
    },
    wantsClientCertificate(host) {
      return certificateAskers.some((h) => h.wantsClientCertificate!(host));
    },
  };
}

function decideInOrder(
  deciders: ExchangeHooks[],
  request: ExchangeRequest,
  index: number,
): Verdict | Promise<Verdict> {
  const decider = deciders[index];
  if (!decider) return FORWARD_UNCHANGED;

  const verdict = decider.decide!(request);
  const next = (v: Verdict) =>
    v === FORWARD_UNCHANGED ? decideInOrder(deciders, request, index + 1) : v;
  return verdict instanceof Promise ? verdict.then(next) : next(verdict);
}
