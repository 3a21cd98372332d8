import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { PolicyEngine } from '../../proxy-core/policies/engine.ts';
import { startTestTollgate, type TestTollgate } from '../support/tollgate.ts';
import { startHttpUpstream, type TestUpstream } from '../support/upstream.ts';
import { policyFrom } from './helpers.ts';

/** GET through the forward proxy (absolute-form request line), resolving with the status. */
function viaProxy(agent: http.Agent, proxyPort: number, url: string, key: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { agent, host: '127.0.0.1', port: proxyPort, path: url, headers: { 'x-api-key': key } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.setTimeout(20_000, () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

describe(
  '1,000 concurrent requests through the proxy at a limit of 100',
  { timeout: 90_000 },
  () => {
    let upstream: TestUpstream;
    let proxy: TestTollgate;
    let engine: PolicyEngine;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

    before(async () => {
      upstream = await startHttpUpstream();
      engine = new PolicyEngine({
        policy: policyFrom(`
version: 1
apis:
  - name: weather
    hosts: [api.weather.test]
    upstream: ${upstream.url}
    auth: [{ type: apiKey, header: x-api-key }]
    routes: [{ name: read, methods: [GET], path: /v1/** }]
tiers:
  - name: free
    routes: [read]
    # A token bucket refilling one token per 864 s: no window edge can fall inside the test.
    limits: [{ requests: 100, per: day, algorithm: token-bucket }]
consumers: [{ name: acme, tier: free, keys: [acme-key-123] }]
`),
      });
      proxy = await startTestTollgate({ hooks: engine });
    });

    after(async () => {
      agent.destroy();
      engine?.close();
      await proxy?.stop();
      await upstream?.close();
    });

    it('admits exactly 100 and answers 429 to the other 900', async () => {
      const port = Number(new URL(proxy.proxyUrl).port);
      const statuses = await Promise.all(
        Array.from({ length: 1000 }, (_, i) =>
          viaProxy(agent, port, `http://api.weather.test/v1/item/${i}`, 'acme-key-123'),
        ),
      );
      const count = (status: number) => statuses.filter((s) => s === status).length;
      assert.equal(count(200), 100);
      assert.equal(count(429), 900);
    });
  },
);
