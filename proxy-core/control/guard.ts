/**
 * Who may talk to the control API: its owner, and no web page they happen to visit.
 *
 * Guarantees, checked in this order before any route (or stream, or upgrade) runs:
 * 1. DNS rebinding: the Host header must be exactly 127.0.0.1:PORT, localhost:PORT or
 *    [::1]:PORT, else 403. A rebound name (evil.test resolving to 127.0.0.1) fails here.
 * 2. Cross-site requests: an Origin header must be one of the API's own origins or the
 *    configured allow-list (the UI), else 403; `Sec-Fetch-Site: cross-site|same-site` is refused
 *    403 unless its Origin is allow-listed. Requests without Origin (CLI, scripts) pass.
 * 3. The per-launch bearer token, compared in constant time, else 401. Only the event stream
 *    may carry it as `?token=` (EventSource cannot set headers).
 * CORS answers name only an allowed Origin, never `*`.
 */

import type { IncomingMessage } from 'node:http';
import type { ProblemDetails } from '../util/problem.ts';
import { tokensMatch } from './endpoint-file.ts';

export interface GuardConfig {
  port: number;
  token: string;
  /** Origins allowed besides the API's own (the UI's dev server, the app's renderer). */
  allowedOrigins: readonly string[];
}

export class ControlGuard {
  readonly #hosts: Set<string>;
  readonly #origins: Set<string>;
  readonly #token: string;
  readonly #port: number;

  constructor(config: GuardConfig) {
    const { port } = config;
    this.#hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
    const own = [...this.#hosts].map((host) => `http://${host}`);
    this.#origins = new Set([...own, ...config.allowedOrigins.map((o) => o.toLowerCase())]);
    this.#token = config.token;
    this.#port = port;
  }

  /** Host and Origin checks; a problem to answer with, or null when the caller may go on. */
  checkCaller(req: IncomingMessage): ProblemDetails | null {
    const port = this.#port;
    const host = (req.headers.host ?? '').toLowerCase();
    if (!this.#hosts.has(host)) {
      return forbidden(
        'HOST_REFUSED',
        `Host '${host || '(none)'}' is not this API: use 127.0.0.1, localhost or [::1]:${port}`,
      );
    }

    const origin = req.headers.origin;
    const allowedOrigin = origin !== undefined && this.#origins.has(origin.toLowerCase());
    if (origin !== undefined && !allowedOrigin) {
      return forbidden('ORIGIN_REFUSED', `Origin '${origin}' may not use the control API`);
    }

    const site = req.headers['sec-fetch-site'];
    if ((site === 'cross-site' || site === 'same-site') && !allowedOrigin) {
      return forbidden('ORIGIN_REFUSED', `cross-site requests may not use the control API`);
    }
    return null;
  }

  /** The bearer token check; `allowQueryToken` only for the event stream. */
  checkToken(req: IncomingMessage, url: URL, allowQueryToken: boolean): ProblemDetails | null {
    const header = req.headers.authorization;
    const bearer = header && /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
    const given = bearer || (allowQueryToken ? url.searchParams.get('token') : null);

    if (given && tokensMatch(given, this.#token)) return null;
    return {
      code: 'CONTROL_TOKEN_REQUIRED',
      status: 401,
      title: 'Missing or wrong control token',
      detail: given
        ? 'the token does not match this launch of Tollgate (it changes at every start)'
        : `send 'Authorization: Bearer <token>' with the token from the data dir's control-token`,
    };
  }

  /** CORS headers for an allowed Origin; none for everything else. */
  corsHeaders(req: IncomingMessage): Record<string, string> {
    const origin = req.headers.origin;
    if (!origin || !this.#origins.has(origin.toLowerCase())) return {};
    return {
      'access-control-allow-origin': origin,
      'access-control-allow-credentials': 'false',
      vary: 'Origin',
    };
  }

  preflightHeaders(req: IncomingMessage): Record<string, string> {
    return {
      ...this.corsHeaders(req),
      'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE',
      'access-control-allow-headers': 'authorization, content-type, last-event-id',
      'access-control-max-age': '600',
    };
  }
}

function forbidden(code: string, detail: string): ProblemDetails {
  return { code, status: 403, title: 'Refused by the control API', detail };
}
