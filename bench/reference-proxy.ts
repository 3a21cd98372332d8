/**
 * The yardstick: a minimal hand-written Node forward proxy with TLS interception, showing what
 * plain Node does on this machine. It is deliberately lean but not crippled: keep-alive agents
 * to upstreams, upstream TLS verified against the bench CA, hop-by-hop headers stripped, bodies
 * streamed, and CONNECT handed to an in-process TLSSocket (no loopback hop, no per-host server)
 * holding one pre-made certificate. It governs nothing, so Tollgate can only approach it.
 *
 * Usage: node --import tsx bench/reference-proxy.ts --key FILE --cert FILE --ca FILE
 * Prints `{"ready":{"port":PORT}}` when listening on 127.0.0.1.
 */

import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import tls from 'node:tls';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { key: { type: 'string' }, cert: { type: 'string' }, ca: { type: 'string' } },
});
if (!values.key || !values.cert || !values.ca) {
  throw new Error('reference-proxy: --key, --cert and --ca are required');
}

const AGENT_OPTIONS = { keepAlive: true, maxSockets: 256, maxFreeSockets: 256 };
const httpAgent = new http.Agent(AGENT_OPTIONS);
const httpsAgent = new https.Agent({ ...AGENT_OPTIONS, ca: readFileSync(values.ca) });
const interceptContext = tls.createSecureContext({
  key: readFileSync(values.key),
  cert: readFileSync(values.cert),
});

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'upgrade',
  'transfer-encoding',
]);

function endToEnd(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const name in headers) if (!HOP_BY_HOP.has(name)) out[name] = headers[name];
  return out;
}

/** CONNECT authority (`host:port`) of each intercepted TLS socket. */
const tunnelTarget = new WeakMap<object, string>();

function forward(req: http.IncomingMessage, res: http.ServerResponse): void {
  const target = tunnelTarget.get(req.socket);
  const url = target ? new URL(`https://${target}${req.url}`) : new URL(req.url ?? '');
  const secure = url.protocol === 'https:';
  const hostname = url.hostname.replace(/^\[|\]$/g, '');

  const upstream = (secure ? https : http).request({
    agent: secure ? httpsAgent : httpAgent,
    host: hostname,
    port: url.port || (secure ? 443 : 80),
    servername: secure && !/^[\d.]+$|:/.test(hostname) ? hostname : undefined,
    method: req.method,
    path: url.pathname + url.search,
    headers: endToEnd(req.headers),
  });

  upstream.on('response', (answer) => {
    res.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers));
    answer.pipe(res);
  });
  upstream.on('error', () => {
    if (res.headersSent) return void res.destroy();
    res.writeHead(502, { 'content-length': '0' });
    res.end();
  });
  req.pipe(upstream);
}

// Intercepted requests arrive here; it never listens itself.
const inner = http.createServer(forward);
inner.keepAliveTimeout = 120_000;

const proxy = http.createServer(forward);
proxy.keepAliveTimeout = 120_000;
proxy.on('connect', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
  socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  if (head.length > 0) socket.unshift(head);

  const secured = new tls.TLSSocket(socket, { isServer: true, secureContext: interceptContext });
  secured.on('error', () => socket.destroy());
  tunnelTarget.set(secured, req.url ?? '');
  inner.emit('connection', secured);
});

// A clean exit on SIGTERM, so `node --cpu-prof` (bench/profile.ts) writes its profile.
process.once('SIGTERM', () => process.exit(0));

proxy.listen(0, '127.0.0.1', () => {
  const ready = { port: (proxy.address() as AddressInfo).port };
  process.stdout.write(JSON.stringify({ ready }) + '\n');
});
