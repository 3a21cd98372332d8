/**
 * WebSocket pass-through (ws and wss), taken over from http-mitm-proxy's frame-parsing relay.
 *
 * Guarantees: the upstream handshake is opened first, and the client sees 101 only after the
 * upstream answered 101; a refusal reaches the client with the upstream's own status. The hooks
 * decide on the handshake like on any request, so a refused key never opens a socket. After the
 * switch, bytes are piped untouched both ways and either side closing closes the other.
 */

import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import { FORWARD_UNCHANGED, type Verdict } from './exchange.ts';
import type { ExchangeSettings } from './exchange-handler.ts';
import { buildRequest } from './exchange-request.ts';
import { headerList, type HeaderList } from './header-list.ts';
import { endToEndRawHeaders } from './hop-by-hop.ts';
import { upstreamProblemCode, writeRawProblem } from './proxy-problems.ts';
import { chooseUpstream, describeUpstream, resolveTarget, type Arrival } from './routing.ts';
import { upstreamHeaders } from './upstream-request.ts';

export function relayUpgrade(
  settings: ExchangeSettings,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  arrival: Arrival,
): void {
  socket.on('error', (error) => settings.log.debug('websocket client socket error', { error }));
  settings.track(socket);

  if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
    writeRawProblem(socket, 'BAD_REQUEST', 'Only WebSocket upgrades are proxied.');
    return;
  }
  const target = resolveTarget(req, arrival);
  if (typeof target === 'string') {
    writeRawProblem(socket, target);
    return;
  }

  const request = buildRequest(req, target, arrival);
  const decided = (verdict: Verdict) => {
    if (socket.destroyed) return;
    if (verdict.kind === 'respond') {
      writeRawResponse(socket, verdict.status, verdict.headers, verdict.body);
      settings.hooks.completed?.({
        request,
        annotations: verdict.annotations,
        status: verdict.status,
        responseHeaders: headerList(verdict.headers),
        requestBytes: 0,
        responseBytes: Buffer.byteLength(verdict.body),
        timings: { total: Date.now() - request.startedAt },
      });
      return;
    }

    const sent = verdict.path === undefined ? target : { ...target, path: verdict.path };
    const upstream = chooseUpstream(sent, arrival, {
      override: verdict.upstream,
      hostMap: settings.hostMap,
      ownPorts: settings.ownPorts,
    });
    if (typeof upstream === 'string') {
      writeRawProblem(socket, upstream);
      return;
    }

    // The verdict's edits apply as on any request: credentials it consumed stay here.
    const headers = upstreamHeaders(req, target, arrival, upstream, verdict);
    headers.push('Connection', 'Upgrade', 'Upgrade', 'websocket');

    const options: https.RequestOptions = {
      method: req.method,
      host: upstream.host,
      port: upstream.port,
      path: upstream.path,
      headers,
      // An upgraded socket leaves any pool, so a pooled agent would gain nothing.
      agent: false,
    };
    const insecure =
      settings.insecureUpstreamHosts.has(upstream.host) ||
      settings.insecureUpstreamHosts.has(target.host);
    const upstreamReq =
      upstream.scheme === 'http'
        ? http.request(options)
        : https.request({
            ...options,
            servername: isIP(upstream.host) ? undefined : upstream.host,
            rejectUnauthorized: !insecure,
          });

    const report = (status: number, responseHeaders: HeaderList, error?: string) =>
      settings.hooks.completed?.({
        request,
        annotations: verdict.annotations,
        status,
        responseHeaders,
        requestBytes: 0,
        responseBytes: 0,
        timings: {
          upstream: Date.now() - request.startedAt,
          total: Date.now() - request.startedAt,
        },
        ...(error ? { error } : {}),
      });

    upstreamReq.setTimeout(settings.upstreamMs, () =>
      upstreamReq.destroy(
        Object.assign(new Error('upstream timeout'), { code: 'UPSTREAM_TIMEOUT' }),
      ),
    );
    socket.once('close', () => upstreamReq.destroy());

    upstreamReq.on('upgrade', (upstreamRes, upstreamSocket, upstreamHead) => {
      upstreamReq.setTimeout(0);
      upstreamSocket.on('error', () => socket.destroy());
      if (socket.destroyed) {
        upstreamSocket.destroy();
        return;
      }
      socket.write(rawHead(101, upstreamRes.rawHeaders));
      if (upstreamHead.length > 0) socket.write(upstreamHead);
      if (head.length > 0) upstreamSocket.write(head);
      upstreamSocket.pipe(socket).on('error', () => upstreamSocket.destroy());
      socket.pipe(upstreamSocket);
      upstreamSocket.once('close', () => socket.destroy());
      socket.once('close', () => upstreamSocket.destroy());
      report(101, upstreamRes.rawHeaders);
    });

    upstreamReq.on('response', (upstreamRes) => {
      // The upstream refused the upgrade: its answer goes to the client, then the socket closes.
      const status = upstreamRes.statusCode ?? 502;
      const refusalHeaders = endToEndRawHeaders(upstreamRes.rawHeaders, {
        set: ['connection', 'close'],
      });
      socket.write(rawHead(status, refusalHeaders));
      upstreamRes.pipe(socket);
      report(status, refusalHeaders);
    });

    upstreamReq.on('error', (error: NodeJS.ErrnoException) => {
      settings.log.debug('websocket upstream failed', {
        upstream: describeUpstream(upstream),
        error,
      });
      const code = upstreamProblemCode(error);
      writeRawProblem(socket, code, describeUpstream(upstream));
      report(0, [], code);
    });
    upstreamReq.end();
  };

  const failed = (error: unknown) => {
    settings.log.error('websocket handshake failed inside Tollgate', { error: error as Error });
    writeRawProblem(socket, 'INTERNAL_ERROR');
  };
  const safely = (verdict: Verdict) => {
    try {
      decided(verdict);
    } catch (error) {
      failed(error);
    }
  };

  let verdict: Verdict | Promise<Verdict>;
  try {
    verdict = settings.hooks.decide?.(request) ?? FORWARD_UNCHANGED;
  } catch (error) {
    failed(error);
    return;
  }
  if (verdict instanceof Promise) verdict.then(safely, failed);
  else safely(verdict);
}

function rawHead(status: number, rawHeaders: string[]): string {
  const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2)
    lines.push(`${rawHeaders[i]}: ${rawHeaders[i + 1]}`);
  return lines.join('\r\n') + '\r\n\r\n';
}

function writeRawResponse(
  socket: Duplex,
  status: number,
  headers: Readonly<Record<string, string>>,
  body: string,
): void {
  const all = {
    ...headers,
    'content-length': String(Buffer.byteLength(body)),
    connection: 'close',
  };
  socket.end(rawHead(status, headerList(all)) + body);
}
