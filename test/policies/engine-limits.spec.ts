import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { ManualTime } from '../../proxy-core/policies/clock.ts';
import { PolicyEngine } from '../../proxy-core/policies/engine.ts';
import type { Verdict } from '../../proxy-core/server/exchange.ts';
import { Store } from '../../proxy-core/store/store.ts';
import { tempDir } from '../support/temp-dir.ts';
import {
  decide,
  engineWith,
  examplePolicy,
  headersOf,
  policyFrom,
  request,
  statusOf,
  withKey,
} from './helpers.ts';

const HUNDRED = `
version: 1
apis:
  - name: weather
    hosts: [api.weather.test]
    auth:
      - { type: apiKey, header: x-api-key }
      - { type: jwt, secret: test-secret-for-concurrency, audience: weather }
    routes: [{ name: read, methods: [GET], path: /v1/** }]
tiers:
  - name: free
    routes: [read]
    limits: [{ requests: 100, per: day, algorithm: token-bucket }]
consumers:
  - { name: acme, tier: free, keys: [acme-key-123] }
`;

const TWO_LIMITS = `
version: 1
apis:
  - name: weather
    hosts: [api.weather.test]
    auth: [{ type: apiKey, header: x-api-key }]
    routes: [{ name: read, methods: [GET], path: /v1/** }]
tiers:
  - name: free
    routes: [read]
    limits:
      - { requests: 10, per: minute }
      - { requests: 3, per: day }
consumers:
  - { name: acme, tier: free, keys: [acme-key-123] }
`;

const ROUTE_SCOPED = `
version: 1
apis:
  - name: weather
    hosts: [api.weather.test]
    auth: [{ type: apiKey, header: x-api-key }]
    routes:
      - { name: read, methods: [GET], path: /v1/forecast/** }
      - { name: bulk, methods: [GET], path: /v1/history/** }
tiers:
  - name: free
    routes: [read, bulk]
    limits:
      - { name: everything, requests: 10, per: minute }
      - { name: bulk-only, requests: 2, per: minute, routes: [bulk] }
consumers:
  - { name: acme, tier: free, keys: [acme-key-123] }
`;

describe('limits through the engine', () => {
  it('counts a limit scoped to some routes only for requests to them', async () => {
    const { engine } = engineWith(policyFrom(ROUTE_SCOPED));
    const read = () => decide(engine, withKey('acme-key-123', { path: '/v1/forecast/x' }));
    const bulk = () => decide(engine, withKey('acme-key-123', { path: '/v1/history/x' }));

    const reads = [await read(), await read(), await read()];
    assert.deepEqual(reads.map(statusOf), [200, 200, 200]);
    // A read shows only the limit that counts it.
    assert.equal(headersOf(reads[2]!)['ratelimit-policy'], '"everything";q=10;w=60');

    const bulks = [await bulk(), await bulk(), await bulk()];
    assert.deepEqual(bulks.map(statusOf), [200, 200, 429]);
    assert.match(
      headersOf(bulks[1]!)['ratelimit']!,
      /^"everything";r=5;t=\d+, "bulk-only";r=0;t=\d+$/,
    );
    // The bulk quota is spent, reads go on: 5 of the shared 10 were used.
    assert.equal(headersOf(await read())['x-ratelimit-remaining'], '4');
  });

  it('admits exactly 100 of 1,000 concurrent API-key requests at a limit of 100', async () => {
    const { engine } = engineWith(policyFrom(HUNDRED));
    const verdicts = await Promise.all(
      Array.from({ length: 1000 }, () =>
        decide(engine, withKey('acme-key-123', { path: '/v1/a' })),
      ),
    );
    assert.equal(verdicts.filter((v) => statusOf(v) === 200).length, 100);
    assert.equal(verdicts.filter((v) => statusOf(v) === 429).length, 900);
  });

  it('admits exactly 100 of 1,000 concurrent JWT requests, verified asynchronously', async () => {
    const { engine, time } = engineWith(policyFrom(HUNDRED));
    const token = await new SignJWT({ sub: 'acme' })
      .setProtectedHeader({ alg: 'HS256' })
      .setAudience('weather')
      .setExpirationTime(Math.floor(time.wall() / 1000) + 600)
      .sign(new TextEncoder().encode('test-secret-for-concurrency'));

    const pending = Array.from({ length: 1000 }, () =>
      engine.decide(request({ path: '/v1/a', headers: { authorization: `Bearer ${token}` } })),
    );
    assert.ok(pending[0] instanceof Promise, 'an unverified token takes the async path');
    const verdicts = await Promise.all(pending);
    assert.equal(verdicts.filter((v) => statusOf(v) === 200).length, 100);
    assert.equal(verdicts.filter((v) => statusOf(v) === 429).length, 900);
  });

  it('charges no limit when another limit refuses the request', async () => {
    const { engine } = engineWith(policyFrom(TWO_LIMITS));
    for (let i = 0; i < 3; i++)
      assert.equal(statusOf(await decide(engine, withKey('acme-key-123'))), 200);

    const refused = await decide(engine, withKey('acme-key-123'));
    assert.equal(statusOf(refused), 429);
    assert.equal(refused.annotations?.reason, 'QUOTA_EXCEEDED');
    assert.equal(refused.annotations?.limit, 'free-day');

    const minute = engine.usage().find((u) => u.name === 'free-minute');
    assert.equal(minute?.used, 3, 'the refused request did not count against the minute');
  });

  it('resets a daily quota when the virtual clock is advanced a day', async () => {
    const { engine } = engineWith(policyFrom(TWO_LIMITS));
    for (let i = 0; i < 3; i++) await decide(engine, withKey('acme-key-123'));
    assert.equal(statusOf(await decide(engine, withKey('acme-key-123'))), 429);

    engine.clock.advance(24 * 3600_000);
    assert.equal(engine.clock.offsetMs, 86_400_000);
    assert.equal(statusOf(await decide(engine, withKey('acme-key-123'))), 200);

    engine.clock.reset();
    assert.equal(engine.clock.offsetMs, 0);
  });

  it('on the real clocks, sees an advanced virtual clock within one run of decisions', () => {
    // No injected time: the engine shares one clock reading across a synchronous run, so
    // moving the virtual clock must drop that reading. The calls below never yield.
    const engine = new PolicyEngine({ policy: examplePolicy() });
    try {
      const decideNow = () => statusOf(engine.decide(withKey('free-key-123')) as Verdict);
      const firstFive = Array.from({ length: 5 }, decideNow);
      assert.deepEqual(firstFive, [200, 200, 200, 200, 200]);
      assert.equal(decideNow(), 429);

      // Two minutes: the sliding minute window no longer weighs the old requests.
      engine.clock.advance(120_000);
      assert.equal(decideNow(), 200);
    } finally {
      engine.close();
    }
  });

  it('keeps a quota and the clock offset across a restart on the same store', async () => {
    const { dir, remove } = await tempDir();
    const time = new ManualTime();
    try {
      let store = await Store.open({ dataDir: dir, flushIntervalMs: 10 });
      let engine = new PolicyEngine({ policy: policyFrom(TWO_LIMITS), store, time });
      for (let i = 0; i < 3; i++)
        assert.equal(statusOf(await decide(engine, withKey('acme-key-123'))), 200);
      engine.clock.advance(60_000);
      engine.close();
      await store.close();

      store = await Store.open({ dataDir: dir, flushIntervalMs: 10 });
      engine = new PolicyEngine({ policy: policyFrom(TWO_LIMITS), store, time });
      assert.equal(engine.clock.offsetMs, 60_000);
      const verdict = await decide(engine, withKey('acme-key-123'));
      assert.equal(statusOf(verdict), 429, 'the day quota is still used up');
      assert.equal(verdict.annotations?.limit, 'free-day');
      engine.close();
      await store.close();
    } finally {
      await remove();
    }
  });

  it('keeps counters of unchanged limits when the policy is replaced', async () => {
    const { engine } = engineWith(examplePolicy());
    for (let i = 0; i < 5; i++) await decide(engine, withKey('free-key-123'));

    const changed = examplePolicy();
    changed.tiers[1]!.limits[0]!.requests = 200;
    engine.replacePolicy(changed);
    assert.equal(statusOf(await decide(engine, withKey('free-key-123'))), 429);
    assert.equal(engine.policy.tiers[1]!.limits[0]!.requests, 200);
  });

  it('switches a consumer to another tier from the next request on', async () => {
    const { engine } = engineWith(examplePolicy());
    const post = () =>
      decide(engine, withKey('free-key-123', { method: 'POST', path: '/v1/alerts' }));
    assert.equal(statusOf(await post()), 403);
    engine.setConsumerTier('acme-free', 'pro');
    const verdict = await post();
    assert.equal(statusOf(verdict), 200);
    assert.equal(verdict.annotations?.tier, 'pro');
    assert.throws(() => engine.setConsumerTier('acme-free', 'gold'), /unknown tier "gold"/);
  });

  it('resets usage for one consumer only', async () => {
    const { engine } = engineWith(examplePolicy());
    for (let i = 0; i < 5; i++) await decide(engine, withKey('free-key-123'));
    await decide(engine, withKey('pro-key-456'));

    engine.resetUsage('acme-free');
    assert.equal(statusOf(await decide(engine, withKey('free-key-123'))), 200);
    assert.ok(engine.usage().some((u) => u.consumer === 'acme-pro' && u.used === 1));
  });

  it('reports usage per consumer and limit, never with negative remaining', async () => {
    const { engine } = engineWith(examplePolicy());
    for (let i = 0; i < 7; i++) await decide(engine, withKey('free-key-123'));
    const minute = engine
      .usage()
      .find((u) => u.consumer === 'acme-free' && u.name === 'free-minute');
    assert.deepEqual(
      { used: minute?.used, limit: minute?.limit, remaining: minute?.remaining },
      { used: 5, limit: 5, remaining: 0 },
    );
    const day = engine.usage().find((u) => u.name === 'free-day');
    assert.equal(day?.resetAt, Date.UTC(2026, 0, 2));
  });
});

describe('clock reset', () => {
  it('clears counters stamped in the virtual future, so real time is not refused', async () => {
    const policy = policyFrom(`
version: 1
apis:
  - name: weather
    hosts: [api.weather.test]
    auth: [{ type: apiKey, header: x-api-key }]
    routes: [{ name: read, path: /v1/** }]
tiers:
  - name: free
    routes: [read]
    limits:
      - { requests: 1, per: minute, algorithm: gcra }
      - { requests: 2, per: day }
consumers: [{ name: acme, tier: free, keys: [acme-key-123] }]
`);
    const { engine } = engineWith(policy);
    assert.equal(statusOf(await decide(engine, withKey('acme-key-123'))), 200);

    engine.clock.advance(3 * 86_400_000);
    assert.equal(statusOf(await decide(engine, withKey('acme-key-123'))), 200);
    assert.equal(statusOf(await decide(engine, withKey('acme-key-123'))), 429);

    engine.clock.reset();
    const verdict = await decide(engine, withKey('acme-key-123'));
    assert.equal(statusOf(verdict), 200, JSON.stringify(verdict.annotations));
    assert.equal(engine.usage().find((u) => u.name === 'free-day')?.used, 1);
  });
});
