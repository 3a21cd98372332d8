import assert from 'node:assert/strict';
import http from 'node:http';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { createControlClient } from '../../proxy-core/control/client.ts';
import { startControlApi, type ControlApi } from '../../proxy-core/control/server.ts';
import { PolicyEngine } from '../../proxy-core/policies/engine.ts';
import { combineHooks } from '../../proxy-core/server/exchange.ts';
import { RequestLog } from '../../proxy-core/traffic/request-log.ts';
import { MASK } from '../../proxy-core/traffic/masking.ts';
import { fixtureText, policyFrom } from '../policies/helpers.ts';
import { startTestTollgate, type TestTollgate } from '../support/tollgate.ts';
import { startHttpUpstream, type TestUpstream } from '../support/upstream.ts';

const harValidator = createRequire(import.meta.url)('har-validator') as {
  har(data: unknown): Promise<unknown>;
};

const CAPACITY = 500;
const BULK = 2_000;
const KEYS = ['pro-key-456', 'free-key-123'];

describe('request log through the real proxy and policy engine', { timeout: 120_000 }, () => {
  let upstream: TestUpstream;
  let engine: PolicyEngine;
  let proxy: TestTollgate;
  let api: ControlApi;
  const requestLog = new RequestLog({ capacity: CAPACITY });
  const completedOrder: string[] = [];
  let agent: http.Agent;

  /** One request through the forward proxy in absolute form, as HTTP_PROXY clients send it. */
  const send = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
    new Promise<number>((resolve, reject) => {
      const port = Number(new URL(proxy.proxyUrl).port);
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method,
          agent,
          path: `http://api.weather.test${path}`,
          headers: { host: 'api.weather.test', ...headers },
          timeout: 10_000,
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${path} timed out`)));
      req.on('error', reject);
      req.end();
    });

  before(async () => {
    upstream = await startHttpUpstream();
    const text = fixtureText('example.yaml').replace('http://127.0.0.1:5000', upstream.url);
    engine = new PolicyEngine({ policy: policyFrom(text) });
    agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

    const order = {
      completed: (record: { request: { id: string } }) => completedOrder.push(record.request.id),
    };
    proxy = await startTestTollgate({ hooks: combineHooks(engine, requestLog, order) });
    api = await startControlApi({ port: 0, engine, requestLog });
    // The control API takes the policy's credential names for masking from its policy service.
    api.policy.record(JSON.parse(JSON.stringify(engine.policy)), 'start');

    // A few thousand requests first, 8 at a time: the pro key in the query (token bucket).
    let next = 0;
    const worker = async () => {
      while (next < BULK) {
        const i = next++;
        await send(`/v1/forecast/city-${i}?api_key=pro-key-456&units=metric`);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));

    // Then the cases whose entries are checked one by one, in order.
    for (let i = 0; i < 7; i++)
      await send(`/v1/forecast/free-${i}`, { 'x-api-key': 'free-key-123' });
    await send('/v1/forecast/nobody');
    await send('/v1/alerts', { 'x-api-key': 'free-key-123' }, 'POST');
  });

  after(async () => {
    agent.destroy();
    await api.close();
    await proxy.stop();
    engine.close();
    await upstream.close();
  });

  it('holds exactly the newest entries once more requests than its capacity went through', () => {
    assert.equal(completedOrder.length, BULK + 9);
    assert.equal(requestLog.size, CAPACITY);
    const ids = requestLog.query({ limit: CAPACITY }).entries.map((e) => e.id);
    assert.deepEqual(ids, completedOrder.slice(-CAPACITY).reverse());
  });

  it('records allowed and refused requests with consumer, tier, route, decision and limits', () => {
    const entries = requestLog.query({ consumer: 'acme-free', limit: 20 }).entries.reverse();
    const forecasts = entries.filter((e) => e.path.startsWith('/v1/forecast/free-'));
    assert.equal(forecasts.length, 7);

    const first = forecasts[0]!;
    assert.equal(first.status, 200);
    assert.equal(first.decision, 'allowed');
    assert.equal(first.tier, 'free');
    assert.equal(first.route, 'read');
    assert.equal(first.api, 'weather');
    assert.equal(first.scheme, 'http');
    assert.equal(first.host, 'api.weather.test');
    // Whole milliseconds: a fast exchange on loopback can take 0.
    assert.ok(first.timings.upstream !== undefined, 'time to the upstream answer');
    assert.ok(first.timings.total >= first.timings.upstream);
    assert.ok(first.responseBytes > 0);
    assert.ok(
      first.limits?.some((l) => l.remaining === 4),
      'limit state after the request',
    );

    // The headers the client got: the upstream's, with the verdict's rate-limit headers added.
    assert.match(String(first.responseHeaders['content-type']), /json/);
    assert.ok(first.responseHeaders['ratelimit-policy'], 'rate-limit headers of the verdict');
    assert.equal(first.responseHeaders.connection, undefined, 'no hop-by-hop header');
    assert.equal(first.requestHeaders['x-api-key'], MASK);

    const sixth = forecasts[5]!;
    assert.equal(sixth.status, 429);
    assert.ok(sixth.responseHeaders['retry-after'], 'the answer Tollgate gave itself');
    assert.equal(sixth.decision, 'refused');
    assert.equal(sixth.reason, 'RATE_LIMITED');
    assert.ok(sixth.limit, 'names the limit that refused');

    const write = entries.find((e) => e.method === 'POST')!;
    assert.equal(write.status, 403);
    assert.equal(write.reason, 'ROUTE_NOT_ENTITLED');

    const anonymous = requestLog.query({ text: '/v1/forecast/nobody' }).entries[0]!;
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.reason, 'AUTH_MISSING');
    assert.equal(anonymous.consumer, undefined);

    // 2,000 requests drain the pro tier's bucket (100/minute, burst 20) long before the end.
    const proRefused = requestLog.query({ consumer: 'acme-pro', status: '429', limit: 1 });
    assert.ok(proRefused.matched > CAPACITY / 2, `${proRefused.matched} pro requests refused`);
    assert.equal(proRefused.entries[0]!.limit, 'pro-minute');
  });

  it('keeps keys and the control token out of the log and the HAR, which validates', async () => {
    const client = createControlClient({ baseUrl: api.url, token: api.token });
    const { entries } = await client.log.query({ limit: CAPACITY });
    const har = await client.log.har();
    await harValidator.har(har);
    assert.equal((har as { log: { entries: unknown[] } }).log.entries.length, CAPACITY);

    const everything = JSON.stringify(entries) + JSON.stringify(har);
    for (const secret of [...KEYS, api.token]) {
      assert.ok(!everything.includes(secret), `${secret} leaked`);
    }
    assert.match(everything, /api_key=\[masked\]&units=metric/);
  });
});
