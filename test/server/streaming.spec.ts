/**
 * Bodies stream through the proxy in bounded memory. Small-but-streaming on purpose: 200 MB
 * each way, generated on the fly, against a proxy in its own process whose RSS is sampled; the
 * full 1 GB run belongs to bench/.
 */

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { tempDir } from '../support/temp-dir.ts';
import { serveOnFreePorts, type TollgateProcess } from '../support/tollgate.ts';
import { startHttpUpstream, type EchoBody, type TestUpstream } from '../support/upstream.ts';

const TOTAL = 200 * 1024 * 1024;
const RSS_GROWTH_LIMIT = 100 * 1024 * 1024;

async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

/** Samples the proxy's RSS while `work` runs; resolves with the peak. */
async function peakRssDuring(pid: number, work: () => Promise<void>): Promise<number> {
  let peak = await rssOf(pid);
  const timer = setInterval(() => {
    rssOf(pid).then(
      (rss) => (peak = Math.max(peak, rss)),
      () => undefined,
    );
  }, 50);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, await rssOf(pid));
}

function generated(total: number): { stream: Readable; digest: () => string } {
  const chunk = Buffer.alloc(64 * 1024, 'upload-');
  const hash = createHash('sha256');
  let sent = 0;
  const stream = new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const piece = chunk.subarray(0, Math.min(chunk.length, total - sent));
      sent += piece.length;
      hash.update(piece);
      this.push(piece);
    },
  });
  return { stream, digest: () => hash.digest('hex') };
}

describe('streaming bodies in bounded memory', { timeout: 120_000 }, () => {
  let upstream: TestUpstream;
  let data: Awaited<ReturnType<typeof tempDir>>;
  let serve: TollgateProcess;
  let proxyPort: number;

  before(async () => {
    upstream = await startHttpUpstream();
    data = await tempDir('tollgate-stream-');
    serve = await serveOnFreePorts(data.dir, ['--map', `bulk.example.test=${upstream.url}`]);
    proxyPort = Number(new URL(serve.proxyUrl).port);
  });
  after(async () => {
    await serve?.stop();
    await upstream?.close();
    await data?.remove();
  });

  it('a 200 MB upload arrives whole while proxy RSS grows less than 100 MB', async () => {
    const baseline = await rssOf(serve.child.pid!);
    let echo: EchoBody | undefined;
    const body = generated(TOTAL);

    const peak = await peakRssDuring(serve.child.pid!, async () => {
      echo = await new Promise<EchoBody>((resolve, reject) => {
        const req = http.request({
          host: '127.0.0.1',
          port: proxyPort,
          method: 'PUT',
          path: 'http://bulk.example.test/upload',
          headers: { host: 'bulk.example.test', 'content-length': String(TOTAL) },
        });
        req.on('response', (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString()) as EchoBody));
        });
        req.on('error', reject);
        body.stream.pipe(req);
      });
    });

    assert.equal(echo?.bodyBytes, TOTAL);
    assert.equal(echo?.bodySha256, body.digest());
    assert.ok(peak - baseline < RSS_GROWTH_LIMIT, `RSS grew ${(peak - baseline) >> 20} MB`);
  });

  it('a 200 MB download arrives whole while proxy RSS grows less than 100 MB', async () => {
    const baseline = await rssOf(serve.child.pid!);
    let received = 0;

    const peak = await peakRssDuring(serve.child.pid!, async () => {
      await new Promise<void>((resolve, reject) => {
        const req = http.request({
          host: '127.0.0.1',
          port: proxyPort,
          path: `http://bulk.example.test/bytes/${TOTAL}`,
          headers: { host: 'bulk.example.test' },
        });
        req.on('response', (res) => {
          assert.equal(res.statusCode, 200);
          res.on('data', (c: Buffer) => (received += c.length));
          res.on('end', resolve);
        });
        req.on('error', reject);
        req.end();
      });
    });

    assert.equal(received, TOTAL);
    assert.ok(peak - baseline < RSS_GROWTH_LIMIT, `RSS grew ${(peak - baseline) >> 20} MB`);
  });
});
