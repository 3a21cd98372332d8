/**
 * The bench's upstream, run as its own process so it never shares an event loop with a proxy.
 *
 * One keep-alive HTTP and one HTTPS listener on 127.0.0.1 with the same routes:
 * - `GET /big?bytes=N` streams N bytes from one reused buffer (bounded memory at any size);
 * - `POST /sink` drains the body and answers how many bytes arrived;
 * - anything else answers a small JSON body, like a typical API read.
 *
 * Usage: node --import tsx bench/upstream.ts --key FILE --cert FILE
 * Prints one JSON line `{"ready":{"http":PORT,"https":PORT}}` when listening.
 */

import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { key: { type: 'string' }, cert: { type: 'string' } } });
if (!values.key || !values.cert) throw new Error('upstream: --key and --cert are required');

const SMALL_BODY = Buffer.from(
  JSON.stringify({ city: 'Lisbon', forecast: [18, 19, 21, 20], unit: 'C', source: 'bench' }),
);
const SMALL_HEADERS = {
  'content-type': 'application/json',
  'content-length': String(SMALL_BODY.length),
};
const CHUNK = Buffer.alloc(64 * 1024, 'x');

function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = req.url ?? '/';

  if (url.startsWith('/big')) {
    const bytes = Number(new URLSearchParams(url.split('?')[1]).get('bytes') ?? 0);
    streamBytes(res, bytes);
    return;
  }

  if (url.startsWith('/sink')) {
    let received = 0;
    req.on('data', (chunk: Buffer) => (received += chunk.length));
    req.on('end', () => {
      const body = JSON.stringify({ received });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      res.end(body);
    });
    return;
  }

  // Small reads: answer without waiting for a body, as API reads do.
  req.resume();
  res.writeHead(200, SMALL_HEADERS);
  res.end(SMALL_BODY);
}

/** Writes `total` bytes with backpressure, so memory stays flat however big the answer is. */
function streamBytes(res: http.ServerResponse, total: number): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
  let left = total;

  const pump = () => {
    while (left > 0) {
      const piece = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
      left -= piece.length;
      if (!res.write(piece)) return res.once('drain', pump);
    }
    res.end();
  };
  pump();
}

function tune(server: http.Server): http.Server {
  // Clients keep connections for the whole run; never close them under the load generator.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 121_000;
  server.requestTimeout = 0;
  return server;
}

const plain = tune(http.createServer(handle));
const secure = tune(
  https.createServer(
    { key: readFileSync(values.key), cert: readFileSync(values.cert) },
    handle,
  ) as unknown as http.Server,
);

await Promise.all(
  [plain, secure].map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))),
);
const ready = {
  http: (plain.address() as AddressInfo).port,
  https: (secure.address() as AddressInfo).port,
};
process.stdout.write(JSON.stringify({ ready }) + '\n');
