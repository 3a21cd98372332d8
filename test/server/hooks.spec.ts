import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { ExchangeRecord, ExchangeRequest, Verdict } from '../../proxy-core/server/exchange.ts';
import { startTestTollgate, type TestTollgate } from '../support/tollgate.ts';
import { tempDir } from '../support/temp-dir.ts';
import { startHttpUpstream, type EchoBody, type TestUpstream } from '../support/upstream.ts';
import { curl, curlVia } from './clients.ts';

const run = promisify(execFile);

describe('exchange hooks: decide, completed, client certificates', { timeout: 60_000 }, () => {
  let upstream: TestUpstream;
  let other: TestUpstream;
  let proxy: TestTollgate;
  let certs: Awaited<ReturnType<typeof tempDir>>;
  const seen: ExchangeRequest[] = [];
  const records: ExchangeRecord[] = [];

  before(async () => {
    upstream = await startHttpUpstream();
    other = await startHttpUpstream({
      handler: (req, res) => {
        req.resume();
        res.writeHead(200, { 'x-upstream': 'other' }).end('other upstream');
      },
    });
    proxy = await startTestTollgate({
      hostMap: { 'api.example.test': upstream.url },
      captureBodyBytes: 8,
      hooks: {
        decide(request): Verdict | Promise<Verdict> {
          seen.push(request);
          if (request.path.startsWith('/refuse')) {
            return {
              kind: 'respond',
              status: 429,
              headers: { 'content-type': 'application/problem+json', 'retry-after': '7' },
              body: '{"code":"RATE_LIMITED"}',
              annotations: { decision: 'refused', reason: 'RATE_LIMITED' },
            };
          }
          if (request.path.startsWith('/rewrite')) {
            return { kind: 'forward', path: '/rewritten/items?page=2' };
          }
          if (request.path.startsWith('/async')) {
            return Promise.resolve({
              kind: 'forward',
              upstream: other.url,
              setResponseHeaders: ['x-ratelimit-remaining', '4'],
            });
          }
          return {
            kind: 'forward',
            removeRequestHeaders: ['x-api-key'],
            setRequestHeaders: ['x-consumer', 'acme'],
            annotations: { decision: 'allowed', consumer: 'acme' },
          };
        },
        completed: (record) => records.push(record),
        wantsClientCertificate: (host) => host === 'api.example.test',
      },
    });

    certs = await tempDir('tollgate-client-cert-');
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=client-a/O=Acme',
      '-keyout',
      path.join(certs.dir, 'client.key'),
      '-out',
      path.join(certs.dir, 'client.pem'),
    ]);
    await writeFile(path.join(certs.dir, 'body.txt'), 'a body longer than eight bytes');
  });
  after(async () => {
    await proxy?.stop();
    await Promise.all([upstream?.close(), other?.close(), certs?.remove()]);
  });

  const recordFor = async (id: string) => {
    const deadline = Date.now() + 2000;
    while (Date.now() < deadline) {
      const record = records.find((r) => r.request.id === id);
      if (record) return record;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`no completed record for exchange ${id}`);
  };

  it('a respond verdict answers for the upstream, and completed reports it', async () => {
    const result = await curl(['-x', proxy.proxyUrl, 'http://api.example.test/refuse/me']);

    assert.equal(result.status, 429);
    assert.equal(result.headers['retry-after'], '7');
    assert.equal(result.body, '{"code":"RATE_LIMITED"}');
    const record = await recordFor(seen.at(-1)!.id);
    assert.equal(record.status, 429);
    assert.equal(record.annotations?.reason, 'RATE_LIMITED');
  });

  it('a forward verdict edits request headers; the record captures capped bodies', async () => {
    const result = await curlVia(proxy, [
      '-H',
      'x-api-key: secret',
      '--data-binary',
      `@${path.join(certs.dir, 'body.txt')}`,
      'https://api.example.test/items',
    ]);

    assert.equal(result.status, 200);
    const echo = JSON.parse(result.body) as EchoBody;
    assert.equal(echo.headers['x-api-key'], undefined);
    assert.equal(echo.headers['x-consumer'], 'acme');

    const request = seen.at(-1)!;
    assert.equal(request.scheme, 'https');
    assert.equal(request.host, 'api.example.test');
    assert.equal(request.port, 443);
    const record = await recordFor(request.id);
    assert.equal(record.status, 200);
    assert.equal(record.requestBytes, 'a body longer than eight bytes'.length);
    assert.equal(record.requestBody?.bytes.toString(), 'a body l');
    assert.equal(record.requestBody?.truncated, true);
    assert.equal(record.responseBytes, Buffer.byteLength(result.body));
    const { connect, upstream: firstByte, total } = record.timings;
    assert.ok(connect !== undefined, 'a fresh upstream socket has a connect time');
    assert.ok(firstByte !== undefined && connect <= firstByte && firstByte <= total);
  });

  it('a forward verdict can rewrite the path and query the upstream receives', async () => {
    const result = await curlVia(proxy, [
      'https://api.example.test/rewrite/items?api_key=secret&page=2',
    ]);

    assert.equal(result.status, 200, result.stderr);
    assert.equal((JSON.parse(result.body) as EchoBody).url, '/rewritten/items?page=2');
    // decide and the record still see what the client sent.
    const request = seen.at(-1)!;
    assert.equal(request.path, '/rewrite/items?api_key=secret&page=2');
  });

  it('a request without a body is forwarded without one (POST length 0, GET)', async () => {
    const post = await curl(['-x', proxy.proxyUrl, '-X', 'POST', 'http://api.example.test/empty']);
    const get = await curl(['-x', proxy.proxyUrl, 'http://api.example.test/empty']);

    const posted = JSON.parse(post.body) as EchoBody;
    assert.equal(posted.method, 'POST');
    assert.equal(posted.headers['content-length'], '0');
    assert.equal(posted.headers['transfer-encoding'], undefined);
    const got = JSON.parse(get.body) as EchoBody;
    assert.equal(got.headers['content-length'], undefined);
    assert.equal(got.headers['transfer-encoding'], undefined);
    assert.equal(got.headers['x-consumer'], 'acme');
  });

  it('an async verdict can pick another upstream and set response headers', async () => {
    const result = await curl(['-x', proxy.proxyUrl, 'http://api.example.test/async']);

    assert.equal(result.status, 200);
    assert.equal(result.headers['x-upstream'], 'other');
    assert.equal(result.headers['x-ratelimit-remaining'], '4');
    // The record says which headers the verdict added: the last ones, as the log expects.
    const record = await recordFor(seen.at(-1)!.id);
    assert.equal(record.addedResponseHeaders, 2);
    assert.deepEqual(record.responseHeaders.slice(-2), ['x-ratelimit-remaining', '4']);
  });

  it('a client certificate is requested where a hook wants one and reaches decide', async () => {
    const result = await curlVia(proxy, [
      '--cert',
      path.join(certs.dir, 'client.pem'),
      '--key',
      path.join(certs.dir, 'client.key'),
      'https://api.example.test/mtls',
    ]);

    assert.equal(result.status, 200, result.stderr);
    const request = seen.at(-1)!;
    assert.equal(request.path, '/mtls');
    assert.match(request.clientCertificate?.subject ?? '', /CN=client-a/);
    assert.match(
      request.clientCertificate?.fingerprint256 ?? '',
      /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/,
    );
  });
});
