import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PolicyEngine } from '../../proxy-core/policies/engine.ts';
import { runCli } from '../support/cli.ts';
import { startTestTollgate, type TestTollgate } from '../support/tollgate.ts';
import { startHttpUpstream, type EchoBody, type TestUpstream } from '../support/upstream.ts';
import { curl } from '../server/clients.ts';
import { examplePolicy, FIXTURES } from './helpers.ts';

/**
 * The example policy, enforced by the real proxy with curl as the client: the answers a
 * client developer sees on their desk.
 */
describe('the example policy through the proxy', { timeout: 60_000 }, () => {
  let upstream: TestUpstream;
  let proxy: TestTollgate;
  let engine: PolicyEngine;

  before(async () => {
    upstream = await startHttpUpstream();
    const policy = examplePolicy();
    policy.apis[0]!.upstream = upstream.url;
    engine = new PolicyEngine({ policy });
    proxy = await startTestTollgate({ hooks: engine });
  });

  after(async () => {
    engine?.close();
    await proxy?.stop();
    await upstream?.close();
  });

  const get = (path: string, headers: string[] = [], extra: string[] = []) =>
    curl([
      '-x',
      proxy.proxyUrl,
      ...headers.flatMap((h) => ['-H', h]),
      ...extra,
      `http://api.weather.test${path}`,
    ]);

  it('gives the free key 5 GETs, then 429 with Retry-After and rate-limit headers', async () => {
    for (let i = 1; i <= 5; i++) {
      const ok = await get('/v1/forecast/paris', ['x-api-key: free-key-123']);
      assert.equal(ok.status, 200, `request ${i}: ${ok.body}`);
      assert.equal(ok.headers['x-ratelimit-limit'], '5');
      assert.equal(ok.headers['x-ratelimit-remaining'], String(5 - i));
      assert.match(ok.headers['ratelimit-policy']!, /"free-minute";q=5;w=60/);

      // The upstream saw who called, not the key.
      const seen = JSON.parse(ok.body) as EchoBody;
      assert.equal(seen.headers['x-consumer'], 'acme-free');
      assert.equal(seen.headers['x-tier'], 'free');
      assert.equal(seen.headers['x-api-key'], undefined);
    }

    const refused = await get('/v1/forecast/paris', ['x-api-key: free-key-123']);
    assert.equal(refused.status, 429);
    assert.match(refused.headers['retry-after']!, /^[1-9]\d*$/);
    assert.equal(refused.headers['content-type'], 'application/problem+json');
    assert.equal(refused.headers['x-ratelimit-remaining'], '0');
    assert.match(refused.headers['ratelimit']!, /"free-minute";r=0;t=\d+/);
    const problem = JSON.parse(refused.body);
    assert.equal(problem.consumer, 'acme-free');
    assert.equal(problem.tier, 'free');
    assert.equal(problem.limit, 'free-minute');
    assert.ok(problem.resetAt);
    assert.ok(!refused.body.includes('free-key-123'));
  });

  it('refuses POST /v1/alerts to the free key with 403 and its rate-limit headers', async () => {
    const result = await get('/v1/alerts', ['x-api-key: free-key-123'], ['-X', 'POST', '-d', '{}']);
    assert.equal(result.status, 403);
    assert.equal(JSON.parse(result.body).code, 'ROUTE_NOT_ENTITLED');
    assert.equal(result.headers['x-ratelimit-limit'], '5');
    assert.match(result.headers['ratelimit-policy']!, /"free-minute";q=5;w=60/);
  });

  it('never forwards a query-parameter key to the upstream', async () => {
    const result = await get('/v1/forecast/rome?units=metric&api_key=pro-key-456&lang=en');
    assert.equal(result.status, 200, result.body);
    const seen = JSON.parse(result.body) as EchoBody;
    assert.equal(seen.url, '/v1/forecast/rome?units=metric&lang=en');
    assert.equal(seen.headers['x-consumer'], 'acme-pro');
    assert.ok(!JSON.stringify(seen).includes('pro-key-456'));
  });

  it('answers 401 without a key and with a wrong key', async () => {
    const missing = await get('/v1/forecast/paris');
    assert.equal(missing.status, 401);
    assert.match(missing.headers['www-authenticate']!, /ApiKey realm="weather"/);

    const wrong = await get('/v1/forecast/paris', ['x-api-key: not-the-key-999']);
    assert.equal(wrong.status, 401);
    assert.ok(!wrong.body.includes('not-the-key-999'));
  });

  it('lets the pro key POST', async () => {
    const result = await get(
      '/v1/alerts',
      ['x-api-key: pro-key-456'],
      ['-X', 'POST', '-d', '{"a":1}'],
    );
    assert.equal(result.status, 200, result.body);
    assert.equal((JSON.parse(result.body) as EchoBody).method, 'POST');
    assert.match(result.headers['ratelimit-policy']!, /"pro-minute";q=100;w=60/);
  });

  it('accepts a JWT from `tollgate token` and refuses a wrong-audience one', async () => {
    const minted = await runCli([
      'token',
      '--consumer',
      'acme-pro',
      '--policy',
      FIXTURES + 'example.yaml',
    ]);
    assert.equal(minted.code, 0, minted.stderr);
    const ok = await get(
      '/v1/alerts',
      [`authorization: Bearer ${minted.stdout.trim()}`],
      ['-X', 'POST', '-d', '{}'],
    );
    assert.equal(ok.status, 200, ok.body);
    assert.equal((JSON.parse(ok.body) as EchoBody).headers.authorization, undefined);

    // Same secret, another API's audience: the signature is fine, the audience is not.
    const other = await runCli([
      'token',
      '--consumer',
      'acme-pro',
      '--policy',
      FIXTURES + 'example-other-audience.yaml',
    ]);
    const refused = await get('/v1/forecast/x', [`authorization: Bearer ${other.stdout.trim()}`]);
    assert.equal(refused.status, 401);
    assert.match(refused.headers['www-authenticate']!, /error="invalid_token"/);
  });

  it('passes requests to hosts no API governs through untouched', async () => {
    const result = await curl(['-x', proxy.proxyUrl, `${upstream.url}/plain`]);
    assert.equal(result.status, 200);
    assert.equal(result.headers['x-ratelimit-limit'], undefined);
  });
});
