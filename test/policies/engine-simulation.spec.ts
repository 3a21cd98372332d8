import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ExchangeRecord, Verdict } from '../../proxy-core/server/exchange.ts';
import { Store } from '../../proxy-core/store/store.ts';
import { tempDir } from '../support/temp-dir.ts';
import { until } from '../support/until.ts';
import {
  decide,
  engineWith,
  headersOf,
  policyFrom,
  request,
  statusOf,
  withKey,
} from './helpers.ts';

function policy(extra: string, { limits = '[{ requests: 10, per: minute }]', api = '' } = {}) {
  return policyFrom(`
version: 1
apis:
  - name: weather
    hosts: [api.weather.test]
    auth: [{ type: apiKey, header: x-api-key }, { type: jwt, secret: s3cret-for-tests }]
    routes:
      - { name: read, methods: [GET], path: /v1/** }
      - { name: admin, methods: [POST], path: /admin/**, roles: [ops] }
${api}
tiers:
  - name: free
    routes: ['*']
    limits: ${limits}
consumers:
  - { name: acme, tier: free, keys: [acme-key-123] }
  - { name: ops-team, tier: free, keys: [ops-key-456], roles: [ops] }
${extra}
`);
}

function completedRecord(verdict: Verdict, status: number, upstreamMs: number): ExchangeRecord {
  return {
    request: request(),
    annotations: verdict.annotations,
    status,
    responseHeaders: [],
    requestBytes: 0,
    responseBytes: 0,
    timings: { upstream: upstreamMs, total: upstreamMs + 1 },
  };
}

describe('simulation controls', () => {
  it('injects latency and a share of error answers per tier, with the dice injected', async () => {
    const rolls = [0.05, 0.9];
    const { engine } = engineWith(
      policy(`faults:
  - { name: flaky, tiers: [free], latencyMs: 250, errors: [{ status: 503, share: 0.1 }] }`),
      { random: () => rolls.shift() ?? 0.9 },
    );

    const failed = await decide(engine, withKey('acme-key-123', { path: '/v1/x' }));
    assert.equal(statusOf(failed), 503);
    assert.equal(failed.delayMs, 250);
    assert.equal(failed.annotations?.reason, 'FAULT_INJECTED');

    const slowed = await decide(engine, withKey('acme-key-123', { path: '/v1/x' }));
    assert.equal(statusOf(slowed), 200);
    assert.equal(slowed.delayMs, 250);
  });

  it('halves an adaptive limit while the upstream is slow and recovers gradually', async () => {
    const adaptive = '{ p95AboveMs: 500, minSamples: 5, windowSeconds: 10, recoverySeconds: 20 }';
    const { engine, time } = engineWith(
      policy('', {
        limits: `[{ requests: 1000, per: day },
          { requests: 100, per: minute, adaptive: ${adaptive} }]`,
      }),
    );
    // Both headers show the effective limit: the tightest one and the whole policy list.
    const limitHeader = async () => {
      const headers = headersOf(await decide(engine, withKey('acme-key-123', { path: '/v1/x' })));
      const minute = /;q=1000;w=86400, "[^"]+";q=(\d+);w=60$/.exec(headers['ratelimit-policy']!);
      assert.equal(minute?.[1], headers['x-ratelimit-limit'], headers['ratelimit-policy']);
      return headers['x-ratelimit-limit'];
    };

    assert.equal(await limitHeader(), '100');
    for (let i = 0; i < 5; i++) {
      const verdict = await decide(engine, withKey('acme-key-123', { path: '/v1/x' }));
      engine.completed(completedRecord(verdict, 200, 900));
    }
    assert.equal(await limitHeader(), '50', 'halved while p95 is 900 ms');

    // Once the slow samples slide out of the window, health returns and the limit climbs back
    // by 1/recoverySeconds of the configured limit per second.
    time.tick(11_000);
    const fast = await decide(engine, withKey('acme-key-123', { path: '/v1/x' }));
    engine.completed(completedRecord(fast, 200, 10));
    assert.equal(await limitHeader(), '50', 'recovery starts when health is first seen');
    time.tick(5_000);
    engine.completed(completedRecord(fast, 200, 10));
    assert.equal(await limitHeader(), '75');
    time.tick(10_000);
    engine.completed(completedRecord(fast, 200, 10));
    assert.equal(await limitHeader(), '100');
  });

  it('sends rate-limit headers in the style the policy chooses', async () => {
    const cases: [string, string[], string[]][] = [
      ['ietf', ['ratelimit', 'ratelimit-policy'], ['x-ratelimit-limit']],
      [
        'x-ratelimit',
        ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'],
        ['ratelimit'],
      ],
      [
        'kong',
        [
          'x-ratelimit-limit-minute',
          'x-ratelimit-remaining-minute',
          'ratelimit-limit',
          'ratelimit-remaining',
          'ratelimit-reset',
        ],
        ['ratelimit-policy'],
      ],
      ['none', [], ['ratelimit', 'x-ratelimit-limit', 'ratelimit-limit']],
    ];
    for (const [style, present, absent] of cases) {
      const { engine } = engineWith(policy(`rateLimitHeaders: ${style}`));
      const headers = headersOf(await decide(engine, withKey('acme-key-123', { path: '/v1/x' })));
      for (const name of present) assert.ok(name in headers, `${style}: ${name} present`);
      for (const name of absent) assert.ok(!(name in headers), `${style}: ${name} absent`);
    }
  });

  it('enforces route roles and rules on headers and client address', async () => {
    const { engine } = engineWith(
      policy(`rules:
  - { name: no-robots, effect: deny, when: [{ attribute: header.user-agent, matches: '.*bot.*' }] }
  - { name: local-admin, effect: allow, routes: [admin], when: [{ attribute: clientAddress, in: ['127.0.0.1', '::1'] }] }`),
    );
    const admin = (key: string, clientAddress = '127.0.0.1') =>
      decide(engine, withKey(key, { method: 'POST', path: '/admin/flush', clientAddress }));

    assert.equal(statusOf(await admin('acme-key-123')), 403, 'no ops role');
    assert.equal(statusOf(await admin('ops-key-456')), 200);
    assert.equal(statusOf(await admin('ops-key-456', '10.0.0.8')), 403, 'allow rule does not hold');
    const robot = await decide(
      engine,
      withKey('acme-key-123', { path: '/v1/x', headers: { 'user-agent': 'crawlbot/1' } }),
    );
    assert.equal(statusOf(robot), 403);
    assert.equal(robot.annotations?.reason, 'RULE_DENIED');
  });

  it('counts per client address when the limit says so', async () => {
    const { engine } = engineWith(
      policy('', { limits: '[{ requests: 1, per: minute, scope: client-address }]' }),
    );
    const from = (clientAddress: string) =>
      decide(engine, withKey('acme-key-123', { path: '/v1/x', clientAddress }));
    assert.equal(statusOf(await from('127.0.0.1')), 200);
    assert.equal(statusOf(await from('127.0.0.1')), 429);
    assert.equal(statusOf(await from('::1')), 200);
  });

  it('forgets client-address counters once their limit is whole again, also on disk', async () => {
    const { dir, remove } = await tempDir();
    const store = await Store.open({ dataDir: dir, flushIntervalMs: 10 });
    const limits =
      '[{ requests: 2, per: minute, scope: client-address }, { requests: 100, per: day }]';
    const { engine, time } = engineWith(policy('', { limits }), { store, syncIntervalMs: 10 });
    try {
      const from = (clientAddress: string) =>
        decide(engine, withKey('acme-key-123', { path: '/v1/x', clientAddress }));
      const addressKeys = () => Object.keys(store.data.usage).filter((key) => / 10\.0\./.test(key));
      for (let i = 1; i <= 50; i++) await from(`10.0.${i}.1`);
      await until(() => addressKeys().length === 50);

      // A sliding window still weighs the previous minute: nothing is idle a minute later, and
      // every address is two minutes later. The consumer's daily count is kept (other scopes
      // are never pruned).
      time.tick(61_000);
      assert.equal(engine.pruneIdleCounters(), 0);
      time.tick(60_000);
      await from('10.0.1.1');
      assert.equal(engine.pruneIdleCounters(), 49, 'all but the address that just called');
      assert.deepEqual(
        engine
          .usage()
          .map((u) => u.subject)
          .sort(),
        ['10.0.1.1', 'acme'],
      );
      assert.equal(addressKeys().length, 1);

      // A forgotten address starts from a whole limit, as a new one would.
      assert.equal(statusOf(await from('10.0.2.1')), 200);
      assert.equal(statusOf(await from('10.0.2.1')), 200);
      assert.equal(statusOf(await from('10.0.2.1')), 429);

      engine.close();
      await store.close();
      const reopened = await Store.open({ dataDir: dir });
      const kept = Object.keys(reopened.data.usage).filter((key) => / 10\.0\./.test(key));
      assert.deepEqual(kept.map((key) => key.split(' ')[1]).sort(), ['10.0.1.1', '10.0.2.1']);
      await reopened.close();
    } finally {
      engine.close();
      await store.close();
      await remove();
    }
  });

  it('counts per consumer and route when the limit says so', async () => {
    const { engine } = engineWith(
      policy('', { limits: '[{ requests: 1, per: minute, scope: consumer+route }]' }),
    );
    const read = () => decide(engine, withKey('ops-key-456', { path: '/v1/x' }));
    assert.equal(statusOf(await read()), 200);
    assert.equal(statusOf(await read()), 429);
    const admin = await decide(
      engine,
      withKey('ops-key-456', { method: 'POST', path: '/admin/x' }),
    );
    assert.equal(statusOf(admin), 200, 'another route has its own counter');
    assert.deepEqual(
      engine
        .usage()
        .map((u) => u.subject)
        .sort(),
      ['ops-team weather.admin', 'ops-team weather.read'],
    );
  });

  it('keeps credentials upstream only when the API says so, and renames forwarded headers', async () => {
    const keep = policyFrom(`
version: 1
forwardHeaders: { consumer: x-client-id, tier: '' }
apis:
  - { name: w, hosts: [w.test], keepCredentials: true, auth: [{ type: apiKey, header: x-api-key }], routes: [{ name: r, path: /** }] }
tiers: [{ name: free, routes: [r] }]
consumers: [{ name: acme, tier: free, keys: [acme-key-123] }]
`);
    const { engine } = engineWith(keep);
    const verdict = await decide(engine, withKey('acme-key-123', { host: 'w.test' }));
    assert.equal(verdict.kind, 'forward');
    if (verdict.kind !== 'forward') return;
    assert.equal(verdict.removeRequestHeaders, undefined);
    assert.deepEqual(verdict.setRequestHeaders, ['x-client-id', 'acme']);
  });
});
