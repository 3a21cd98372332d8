/**
 * The first request to a new HTTPS host: what a certificate for a never-seen hostname costs.
 * Each sample is a fresh connection (CONNECT, TLS handshake, one GET), alternating between a
 * host the proxy has already seen and a new one; both go to the same upstream through host
 * mapping, so the difference is the per-host work (certificate, TLS context, upstream pool).
 */

import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { openTunnel, secure } from './tunnel.ts';

export const SEEN_HOST = 'seen.bench.test';

export function newHostNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `h${i + 1}-${Date.now() % 100_000}.bench.test`);
}

export interface NewHostResult {
  samples: number;
  seenMedianMs: number;
  addedMedianMs: number;
  addedP95Ms: number;
}

export async function measureNewHosts(
  proxyPort: number,
  caPath: string,
  newHosts: string[],
): Promise<NewHostResult> {
  const ca = await readFile(caPath, 'utf8');
  const once = (host: string) => timedRequest(proxyPort, host, ca);

  // The seen host's certificate and upstream connection exist before anything is timed.
  for (let i = 0; i < 3; i++) await once(SEEN_HOST);

  const seen: number[] = [];
  const fresh: number[] = [];
  for (const host of newHosts) {
    seen.push(await once(SEEN_HOST));
    fresh.push(await once(host));
  }

  const seenMedian = percentile(seen, 50);
  const added = fresh.map((ms) => ms - seenMedian);
  return {
    samples: newHosts.length,
    seenMedianMs: seenMedian,
    addedMedianMs: percentile(added, 50),
    addedP95Ms: percentile(added, 95),
  };
}

/** One fresh tunnel, handshake and GET; resolves with the milliseconds it took. */
async function timedRequest(proxyPort: number, host: string, ca: string): Promise<number> {
  const started = performance.now();
  const tunnel = await openTunnel(proxyPort, `${host}:443`);
  const socket = await secure(tunnel, host, ca);

  await new Promise<void>((resolve, reject) => {
    const request = http.request(
      { method: 'GET', path: '/', headers: { host }, createConnection: () => socket },
      (response) => {
        response.resume();
        response.once('end', () => {
          if (response.statusCode === 200) resolve();
          else reject(new Error(`GET https://${host}/ through the proxy: ${response.statusCode}`));
        });
      },
    );
    request.setTimeout(10_000, () => request.destroy(new Error(`GET https://${host}/ timed out`)));
    request.once('error', reject);
    request.end();
  });

  const elapsed = performance.now() - started;
  socket.destroy();
  return elapsed;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)]!;
}
