import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../proxy-core/log/logger.ts';
import {
  decide,
  engineWith,
  examplePolicy,
  headersOf,
  request,
  statusOf,
  withKey,
} from './helpers.ts';

describe('policy engine on the example policy', () => {
  it('lets requests to hosts no API governs pass through untouched', async () => {
    const { engine } = engineWith(examplePolicy());
    const verdict = await decide(engine, request({ host: 'example.test' }));
    assert.equal(verdict.kind, 'forward');
    assert.deepEqual(verdict.annotations, { decision: 'passthrough' });
    assert.equal(verdict.kind === 'forward' && verdict.setRequestHeaders, undefined);
  });

  it('gives the free key 5 GETs, then 429 with Retry-After and rate-limit headers', async () => {
    // The manual clock starts 40 s into a minute window.
    const { engine } = engineWith(examplePolicy());
    for (let i = 1; i <= 5; i++) {
      const verdict = await decide(engine, withKey('free-key-123'));
      assert.equal(statusOf(verdict), 200, `request ${i}`);
      assert.equal(headersOf(verdict)['x-ratelimit-remaining'], String(5 - i));
    }

    const refused = await decide(engine, withKey('free-key-123'));
    assert.equal(refused.kind, 'respond');
    if (refused.kind !== 'respond') return;
    assert.equal(refused.status, 429);
    // Sliding window: 20 s to the window's end, then 12 s until 5 used decay to 4 (5 x 48/60).
    assert.equal(refused.headers['retry-after'], '32');
    assert.equal(refused.headers['content-type'], 'application/problem+json');
    assert.equal(refused.headers['x-ratelimit-limit'], '5');
    assert.equal(refused.headers['x-ratelimit-remaining'], '0');
    assert.match(
      refused.headers['ratelimit-policy']!,
      /^"free-minute";q=5;w=60, "free-day";q=100;w=86400$/,
    );
    assert.match(refused.headers['ratelimit']!, /^"free-minute";r=0;t=\d+, "free-day";r=95;t=\d+$/);

    const body = JSON.parse(refused.body);
    assert.equal(body.code, 'RATE_LIMITED');
    assert.equal(body.consumer, 'acme-free');
    assert.equal(body.tier, 'free');
    assert.equal(body.limit, 'free-minute');
    assert.ok(Date.parse(body.resetAt) > 0);
    assert.doesNotMatch(refused.body, /free-key-123/);
    assert.equal(refused.annotations?.reason, 'RATE_LIMITED');
  });

  it('refuses a route outside the tier with 403 and names consumer and tier', async () => {
    const { engine } = engineWith(examplePolicy());
    const verdict = await decide(
      engine,
      withKey('free-key-123', { method: 'POST', path: '/v1/alerts' }),
    );
    assert.equal(statusOf(verdict), 403);
    assert.equal(verdict.kind === 'respond' && JSON.parse(verdict.body).code, 'ROUTE_NOT_ENTITLED');
    assert.deepEqual(
      { ...verdict.annotations },
      {
        decision: 'refused',
        reason: 'ROUTE_NOT_ENTITLED',
        api: 'weather',
        route: 'write',
        consumer: 'acme-free',
        tier: 'free',
      },
    );
  });

  it('answers 401 with challenges when no credential is sent, and for a wrong key', async () => {
    const { engine } = engineWith(examplePolicy());

    const missing = await decide(engine, request());
    assert.equal(statusOf(missing), 401);
    assert.equal(
      missing.kind === 'respond' && missing.headers['www-authenticate'],
      'ApiKey realm="weather", Bearer realm="weather"',
    );
    assert.equal(missing.annotations?.reason, 'AUTH_MISSING');

    const wrong = await decide(engine, withKey('wrong-key-000'));
    assert.equal(statusOf(wrong), 401);
    assert.equal(wrong.annotations?.reason, 'AUTH_INVALID');
    assert.doesNotMatch(wrong.kind === 'respond' ? wrong.body : '', /wrong-key-000/);
  });

  it('lets the pro key POST, forwarding to the upstream without the key and with who called', async () => {
    const { engine } = engineWith(examplePolicy());
    const verdict = await decide(
      engine,
      withKey('pro-key-456', { method: 'POST', path: '/v1/alerts' }),
    );
    assert.equal(verdict.kind, 'forward');
    if (verdict.kind !== 'forward') return;
    assert.equal(verdict.upstream, 'http://127.0.0.1:5000');
    assert.deepEqual(verdict.removeRequestHeaders, ['x-api-key', 'authorization']);
    assert.deepEqual(verdict.setRequestHeaders, ['x-consumer', 'acme-pro', 'x-tier', 'pro']);
    assert.equal(verdict.annotations?.decision, 'allowed');
    assert.equal(verdict.annotations?.route, 'write');
  });

  it('accepts the key as a query parameter', async () => {
    const { engine } = engineWith(examplePolicy());
    const verdict = await decide(
      engine,
      request({ path: '/v1/forecast/paris?api_key=free-key-123&x=1' }),
    );
    assert.equal(statusOf(verdict), 200);
    assert.equal(verdict.annotations?.consumer, 'acme-free');
    // The key parameter is not forwarded; the others keep their spelling and order.
    assert.equal(verdict.kind === 'forward' && verdict.path, '/v1/forecast/paris?x=1');
  });

  it('removes every spelling of the key parameter and keeps the path when nothing is left', async () => {
    const { engine } = engineWith(examplePolicy());
    const encoded = await decide(
      engine,
      request({ path: '/v1/forecast/a?api%5Fkey=free-key-123' }),
    );
    assert.equal(encoded.kind === 'forward' && encoded.path, '/v1/forecast/a');
    const plain = await decide(engine, withKey('free-key-123', { path: '/v1/forecast/a?u=1' }));
    assert.equal(plain.kind === 'forward' && plain.path, undefined, 'unchanged path not rewritten');
  });

  it('keeps the key parameter for an API that keeps credentials', async () => {
    const policy = examplePolicy();
    policy.apis[0]!.keepCredentials = true;
    const { engine } = engineWith(policy);
    const verdict = await decide(engine, request({ path: '/v1/forecast/a?api_key=free-key-123' }));
    assert.equal(statusOf(verdict), 200);
    assert.equal(verdict.kind === 'forward' && verdict.path, undefined);
  });

  it('answers 403 with the rate-limit headers of a known consumer, charging nothing', async () => {
    const { engine } = engineWith(examplePolicy());
    await decide(engine, withKey('free-key-123'));
    const refused = await decide(
      engine,
      withKey('free-key-123', { method: 'POST', path: '/v1/alerts' }),
    );
    assert.equal(statusOf(refused), 403);
    const headers = headersOf(refused);
    assert.equal(headers['x-ratelimit-limit'], '5');
    assert.equal(headers['x-ratelimit-remaining'], '4');
    assert.match(headers['ratelimit-policy']!, /"free-minute";q=5;w=60/);
    assert.match(headers['ratelimit']!, /"free-minute";r=4;t=\d+/);
    const minute = engine.usage().find((u) => u.name === 'free-minute');
    assert.equal(minute?.used, 1, 'the 403 was not counted');
  });

  it('refuses a governed request that matches no route with 404', async () => {
    const { engine } = engineWith(examplePolicy());
    const verdict = await decide(engine, withKey('pro-key-456', { path: '/v2/unknown' }));
    assert.equal(statusOf(verdict), 404);
    assert.equal(verdict.annotations?.reason, 'ROUTE_NOT_FOUND');
  });

  it('charges a route its cost: a bulk request takes 10 units', async () => {
    const { engine } = engineWith(examplePolicy());
    const verdict = await decide(engine, withKey('pro-key-456', { path: '/v1/history/2025' }));
    assert.equal(statusOf(verdict), 200);
    const month = engine.usage().find((u) => u.name === 'pro-month');
    assert.equal(month?.used, 10);
    assert.equal(month?.remaining, 99_990);
  });

  it('never writes a credential to the log, even at debug level', async () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'debug', write: (line) => lines.push(line) });
    const { engine } = engineWith(examplePolicy(), { log });
    for (let i = 0; i < 7; i++) await decide(engine, withKey('free-key-123'));
    await decide(engine, withKey('wrong-key-000'));
    await decide(engine, request({ path: '/v1/forecast/x?api_key=query-key-777' }));
    await decide(engine, request({ headers: { authorization: 'Bearer not.a.jwt-token-xyz' } }));
    engine.replacePolicy(examplePolicy());

    assert.ok(lines.length > 0, 'something was logged');
    for (const secret of [
      'free-key-123',
      'wrong-key-000',
      'jwt-token-xyz',
      'dev-secret-change-me',
    ]) {
      assert.ok(!lines.some((line) => line.includes(secret)), `${secret} leaked`);
    }
  });
});
