import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { ProxyAgent, request } from 'undici';
import type { EchoBody, TestUpstream } from '../support/upstream.ts';
import { startHttpUpstream } from '../support/upstream.ts';
import { startTestTollgate, type TestTollgate } from '../support/tollgate.ts';
import { curl, curlVia } from './clients.ts';

describe('real clients through the proxy', { timeout: 60_000 }, () => {
  let upstream: TestUpstream;
  let proxy: TestTollgate;

  before(async () => {
    upstream = await startHttpUpstream();
    proxy = await startTestTollgate({ hostMap: { 'api.example.test': upstream.url } });
  });
  after(async () => {
    await proxy?.stop();
    await upstream?.close();
  });

  it('curl: plain HTTP with an absolute URI keeps status, headers and body', async () => {
    const result = await curl([
      '-x',
      proxy.proxyUrl,
      '-H',
      'x-test: one',
      `${upstream.url}/plain?q=1`,
    ]);

    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(result.status, 200);
    assert.equal(result.headers['x-upstream'], 'echo');
    const echo = JSON.parse(result.body) as EchoBody;
    assert.equal(echo.url, '/plain?q=1');
    assert.equal(echo.headers['x-test'], 'one');
    assert.equal(echo.headers.host, `127.0.0.1:${upstream.port}`);
  });

  it('curl: HTTPS through CONNECT to a mapped real hostname, verified with the Tollgate CA', async () => {
    const result = await curlVia(proxy, [
      '-X',
      'POST',
      '--data-binary',
      'hello body',
      'https://api.example.test/v1/items?page=2',
    ]);

    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(result.status, 200);
    assert.equal(result.headers['x-upstream'], 'echo');
    const echo = JSON.parse(result.body) as EchoBody;
    assert.equal(echo.method, 'POST');
    assert.equal(echo.url, '/v1/items?page=2');
    assert.equal(echo.headers.host, 'api.example.test');
    assert.equal(echo.bodyBytes, 'hello body'.length);
  });

  it('curl: HTTPS is refused by a client that does not trust the Tollgate CA', async () => {
    const result = await curl(['-x', proxy.proxyUrl, 'https://api.example.test/untrusted']);
    assert.equal(
      result.exitCode,
      60,
      `curl should fail certificate verification: ${result.stderr}`,
    );
  });

  it('undici ProxyAgent: 200 concurrent HTTPS requests all answered correctly', async () => {
    const agent = new ProxyAgent({ uri: proxy.proxyUrl, requestTls: { ca: proxy.caPem } });
    try {
      const answers = await Promise.all(
        Array.from({ length: 200 }, async (_, i) => {
          const response = await request(`https://api.example.test/item/${i}`, {
            dispatcher: agent,
            headers: { 'x-index': String(i) },
          });
          return { i, status: response.statusCode, echo: (await response.body.json()) as EchoBody };
        }),
      );
      for (const { i, status, echo } of answers) {
        assert.equal(status, 200);
        assert.equal(echo.url, `/item/${i}`);
        assert.equal(echo.headers['x-index'], String(i));
      }
    } finally {
      await agent.close();
    }
  });

  it('python3 requests: HTTPS through the proxy with REQUESTS_CA_BUNDLE-style verify', async () => {
    const script = [
      'import json, sys, requests',
      'proxy, ca = sys.argv[1], sys.argv[2]',
      "r = requests.get('https://api.example.test/from-python?x=1', proxies={'https': proxy},",
      "                 verify=ca, headers={'x-client': 'python'}, timeout=10)",
      "print(json.dumps({'status': r.status_code, 'echo': r.json()}))",
    ].join('\n');
    const output = await new Promise<string>((resolve, reject) =>
      execFile(
        '/usr/bin/python3',
        ['-c', script, proxy.proxyUrl, proxy.caPath],
        { timeout: 20_000 },
        (error, stdout, stderr) =>
          error ? reject(new Error(stderr || error.message)) : resolve(stdout),
      ),
    );

    const { status, echo } = JSON.parse(output) as { status: number; echo: EchoBody };
    assert.equal(status, 200);
    assert.equal(echo.url, '/from-python?x=1');
    assert.equal(echo.headers['x-client'], 'python');
  });
});
