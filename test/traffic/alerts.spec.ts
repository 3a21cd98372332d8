import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AlertWatcher } from '../../proxy-core/traffic/alerts.ts';
import { RequestLog } from '../../proxy-core/traffic/request-log.ts';
import type { ExchangeAnnotations } from '../../proxy-core/contract/traffic.ts';
import { ALLOWED, exchange } from './exchange-records.ts';

function setup(thresholds: ConstructorParameters<typeof AlertWatcher>[0] = {}) {
  let now = Date.UTC(2026, 0, 1, 12, 0, 0);
  const alerts = new AlertWatcher({ now: () => now, ...thresholds });
  const log = new RequestLog();
  log.subscribe(alerts.observe);
  return {
    alerts,
    send: (annotations: ExchangeAnnotations, request = {}, status = 200) => {
      const record = exchange({ annotations, request, status });
      log.completed(record);
      log.flush();
      return record.request.id;
    },
    tick: (ms: number) => (now += ms),
  };
}

describe('abuse alerts', () => {
  it('raises one alert when a consumer is used from more client addresses than allowed', () => {
    const { alerts, send } = setup({ thresholds: { maxAddressesPerConsumer: 3 } });
    const ids = [1, 2, 3].map((n) => send(ALLOWED, { clientAddress: `127.0.0.${n}` }));
    assert.equal(alerts.list().length, 0, 'three addresses is within the threshold');

    ids.push(send(ALLOWED, { clientAddress: '127.0.0.4' }));
    send(ALLOWED, { clientAddress: '127.0.0.5' });

    const raised = alerts.list();
    assert.equal(raised.length, 1, 'raised once per window, not per request');
    assert.equal(raised[0]!.kind, 'key-many-addresses');
    assert.equal(raised[0]!.subject, 'alice');
    assert.deepEqual(raised[0]!.requestIds, ids);
  });

  it('tells the keys of one consumer apart: colleagues with their own keys are no alert', () => {
    const { alerts, send } = setup({ thresholds: { maxAddressesPerConsumer: 2 } });
    const withKey = (key: string, n: number) => ({
      clientAddress: `127.0.0.${n}`,
      headers: { 'x-api-key': key },
    });
    send(ALLOWED, withKey('key-of-alice-one', 1));
    send(ALLOWED, withKey('key-of-alice-one', 2));
    send(ALLOWED, withKey('key-of-alice-two', 3));
    send(ALLOWED, withKey('key-of-alice-two', 4));
    assert.equal(alerts.list().length, 0, 'two keys, two addresses each');

    send(ALLOWED, withKey('key-of-alice-one', 5));
    const [alert] = alerts.list();
    assert.equal(alert?.kind, 'key-many-addresses');
    assert.match(alert?.message ?? '', /one key of alice was used from 3 client addresses/);
    assert.equal(alert?.requestIds.length, 3);
  });

  it('forgets addresses older than the window', () => {
    const { alerts, send, tick } = setup({
      thresholds: { maxAddressesPerConsumer: 2, windowMs: 10_000 },
    });
    send(ALLOWED, { clientAddress: '127.0.0.1' });
    send(ALLOWED, { clientAddress: '127.0.0.2' });
    tick(11_000);
    send(ALLOWED, { clientAddress: '127.0.0.3' });
    assert.equal(alerts.list().length, 0);
  });

  it('raises an alert for many user agents on one consumer', () => {
    const { alerts, send } = setup({ thresholds: { maxAgentsPerConsumer: 2 } });
    for (const agent of ['curl/8', 'python-requests/2', 'Go-http-client/1.1']) {
      send(ALLOWED, { headers: { 'user-agent': agent } });
    }
    assert.deepEqual(
      alerts.list().map((a) => a.kind),
      ['key-many-agents'],
    );
  });

  it('raises an alert for a burst of 401s against one API', () => {
    const { alerts, send } = setup({ thresholds: { authFailureBurst: 5 } });
    const refused: ExchangeAnnotations = {
      decision: 'refused',
      api: 'weather',
      reason: 'AUTH_INVALID',
    };
    for (let i = 0; i < 4; i++) send(refused, {}, 401);
    assert.equal(alerts.list().length, 0);
    send(refused, {}, 401);

    const [alert] = alerts.list();
    assert.equal(alert?.kind, 'auth-failure-burst');
    assert.equal(alert?.subject, 'weather');
    assert.equal(alert?.requestIds.length, 5);
  });

  it('raises an alert when a consumer goes far above its usual rate', () => {
    const { alerts, send, tick } = setup({
      thresholds: { rateSpikeFactor: 4, rateSpikeMinimum: 20 },
    });
    // Three quiet minutes of 5 requests each establish the usual rate.
    for (let minute = 0; minute < 3; minute++) {
      for (let i = 0; i < 5; i++) send(ALLOWED);
      tick(60_000);
    }
    for (let i = 0; i < 19; i++) send(ALLOWED);
    assert.equal(alerts.list().length, 0, 'below the minimum');
    for (let i = 0; i < 2; i++) send(ALLOWED);

    const [alert] = alerts.list();
    assert.equal(alert?.kind, 'rate-spike');
    assert.equal(alert?.subject, 'alice');
  });

  it('raises an alert when a quota is nearly used up', () => {
    const { alerts, send } = setup({ thresholds: { quotaRemainingShare: 0.1 } });
    const quota = (remaining: number): ExchangeAnnotations => ({
      ...ALLOWED,
      limits: [
        { name: 'free-day', limit: 100, remaining, resetSeconds: 3600, algorithm: 'calendar' },
        // The engine gives every limit a resetAt, rates included.
        {
          name: 'free-minute',
          limit: 10,
          remaining: 0,
          resetSeconds: 5,
          resetAt: Date.now() + 5000,
          algorithm: 'sliding-window',
        },
      ],
    });
    send(quota(50));
    assert.equal(alerts.list().length, 0, 'a rate limit at zero is not a quota');
    const id = send(quota(10));

    const [alert] = alerts.list();
    assert.equal(alert?.kind, 'quota-nearly-exhausted');
    assert.equal(alert?.subject, 'alice:free-day');
    assert.deepEqual(alert?.requestIds, [id]);
  });

  it('takes new thresholds at run time', () => {
    const { alerts } = setup();
    assert.equal(alerts.setThresholds({ authFailureBurst: 3 }).authFailureBurst, 3);
    assert.equal(alerts.thresholds.authFailureBurst, 3);
  });
});
