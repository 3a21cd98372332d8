import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestTollgate, type TestTollgate } from '../support/tollgate.ts';
import {
  startHttpUpstream,
  startHttpsUpstream,
  type EchoBody,
  type TestUpstream,
  type TlsUpstream,
} from '../support/upstream.ts';
import { curl, problemOf, curlVia } from './clients.ts';

describe(
  'routing: host map, reverse proxy, IPv6, misdirected and looping requests',
  { timeout: 60_000 },
  () => {
    let upstream: TestUpstream;
    let v6Upstream: TestUpstream;
    let v6TlsUpstream: TlsUpstream;
    let proxy: TestTollgate;

    before(async () => {
      upstream = await startHttpUpstream();
      v6Upstream = await startHttpUpstream({ host: '::1' });
      v6TlsUpstream = await startHttpsUpstream({ host: '::1' });
      proxy = await startTestTollgate({
        hostMap: {
          'api.example.test': upstream.url,
          'prefixed.example.test': `${upstream.url}/base/`,
        },
        reverse: { target: `${upstream.url}/rev`, port: 0 },
        insecureUpstreamHosts: ['::1'],
      });
    });
    after(async () => {
      await proxy?.stop();
      await Promise.all([upstream?.close(), v6Upstream?.close(), v6TlsUpstream?.close()]);
    });

    const expectServed = async () => {
      const next = await curl(['-x', proxy.proxyUrl, 'http://api.example.test/next']);
      assert.equal(next.status, 200, 'the next good request is still served');
    };

    it('host map: a mapped hostname reaches the local upstream with its own Host header', async () => {
      const result = await curl(['-x', proxy.proxyUrl, 'http://prefixed.example.test/x?y=1']);

      assert.equal(result.status, 200);
      const echo = JSON.parse(result.body) as EchoBody;
      assert.equal(echo.url, '/base/x?y=1', 'the map target’s path is a prefix');
      assert.equal(echo.headers.host, 'prefixed.example.test');
    });

    it('reverse proxy: every request on the reverse port goes to the target base URL', async () => {
      const reverseUrl = proxy.tollgate.reverseUrl;
      assert.ok(reverseUrl);
      const result = await curl([
        '-H',
        'proxy-authorization: Basic c2VjcmV0',
        `${reverseUrl}/items/7?a=b`,
      ]);

      assert.equal(result.status, 200);
      const echo = JSON.parse(result.body) as EchoBody;
      assert.equal(echo.url, '/rev/items/7?a=b');
      assert.equal(echo.headers.host, `127.0.0.1:${upstream.port}`);
      assert.equal(echo.headers['proxy-authorization'], undefined);
    });

    it('IPv6: an absolute URI with [::1]:port is forwarded', async () => {
      const result = await curl(['-x', proxy.proxyUrl, `http://[::1]:${v6Upstream.port}/six`]);

      assert.equal(result.status, 200, result.stderr);
      const echo = JSON.parse(result.body) as EchoBody;
      assert.equal(echo.url, '/six');
      assert.equal(echo.headers.host, `[::1]:${v6Upstream.port}`);
    });

    it('IPv6: CONNECT [::1]:port is intercepted with an IP certificate and forwarded over TLS', async () => {
      const result = await curlVia(proxy, [`https://[::1]:${v6TlsUpstream.port}/six-tls`]);

      assert.equal(result.exitCode, 0, result.stderr);
      assert.equal(result.status, 200);
      assert.equal((JSON.parse(result.body) as EchoBody).url, '/six-tls');
    });

    it('421: a Host header naming another host than the CONNECT target is refused', async () => {
      const result = await curlVia(proxy, [
        '-H',
        'Host: elsewhere.example.test',
        'https://api.example.test/sneaky',
      ]);

      assert.equal(result.status, 421);
      const problem = problemOf(result);
      assert.equal(problem.code, 'MISDIRECTED_REQUEST');
      assert.match(problem.detail ?? '', /api\.example\.test/);
      await expectServed();
    });

    it('403: a request through the proxy to Tollgate’s own control or proxy port is refused', async () => {
      for (const url of [
        `http://127.0.0.1:${proxy.controlPort}/api`,
        `http://127.0.0.1:${proxy.tollgate.proxy.port}/`,
        `http://localhost:${proxy.tollgate.proxy.port}/loop`,
      ]) {
        const result = await curl(['-x', proxy.proxyUrl, url]);
        assert.equal(result.status, 403, url);
        assert.equal(problemOf(result).code, 'PROXY_LOOP');
      }
      await expectServed();
    });
  },
);
