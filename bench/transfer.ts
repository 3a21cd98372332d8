/**
 * A big upload and a big download through an intercepting proxy, in its own process. The
 * upload body comes from a generator re-yielding one 64 KiB buffer, so nothing the size of the
 * body is ever held in memory here; the upstream counts what arrived and the download is counted
 * as it streams past.
 *
 * Usage: node --import tsx bench/transfer.ts --proxy-port P --ca FILE --authority HOST:PORT
 *          --bytes N
 * Prints one JSON line:
 * { bytes, uploadSeconds, uploadReceived, downloadSeconds, downloadReceived }.
 */

import http from 'node:http';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { openTunnel, secure } from './tunnel.ts';

const { values } = parseArgs({
  options: {
    'proxy-port': { type: 'string' },
    ca: { type: 'string' },
    authority: { type: 'string' },
    bytes: { type: 'string' },
  },
});
if (!values['proxy-port'] || !values.ca || !values.authority || !values.bytes) {
  throw new Error('transfer: --proxy-port, --ca, --authority and --bytes are required');
}

const bytes = Number(values.bytes);
const ca = readFileSync(values.ca, 'utf8');
const host = values.authority.slice(0, values.authority.lastIndexOf(':'));
const CHUNK = Buffer.alloc(64 * 1024, 'u');

function* body(total: number): Generator<Buffer> {
  let left = total;
  while (left > 0) {
    const piece = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
    left -= piece.length;
    yield piece;
  }
}

async function exchange(method: string, path: string, upload: number) {
  const tunnel = await openTunnel(Number(values['proxy-port']), values.authority!);
  const socket = await secure(tunnel, host, ca);
  const started = performance.now();
  let received = 0;
  let text = '';

  const request = http.request({
    method,
    path,
    headers: { host: values.authority, ...(upload ? { 'content-length': upload } : {}) },
    createConnection: () => socket,
  });
  const answered = new Promise<void>((resolve, reject) => {
    request.once('response', (response) => {
      response.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (upload) text += chunk.toString('utf8');
      });
      response.once('end', () =>
        response.statusCode === 200
          ? resolve()
          : reject(new Error(`${path}: ${response.statusCode}`)),
      );
      response.once('error', reject);
    });
    request.once('error', reject);
  });

  if (upload) await pipeline(Readable.from(body(upload)), request);
  else request.end();
  await answered;
  socket.destroy();
  return { seconds: (performance.now() - started) / 1000, received, text };
}

const up = await exchange('POST', '/sink', bytes);
const down = await exchange('GET', `/big?bytes=${bytes}`, 0);
const result = {
  bytes,
  uploadSeconds: up.seconds,
  uploadReceived: (JSON.parse(up.text) as { received: number }).received,
  downloadSeconds: down.seconds,
  downloadReceived: down.received,
};
process.stdout.write(JSON.stringify(result) + '\n');
