import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RequestLog } from '../../proxy-core/traffic/request-log.ts';
import { Masker, MASK } from '../../proxy-core/traffic/masking.ts';
import type { LogRecord } from '../../proxy-core/traffic/log-record.ts';
import { toHar } from '../../proxy-core/traffic/har.ts';
import { ALLOWED, RATE_LIMITED, exchange } from './exchange-records.ts';

describe('request log ring buffer', () => {
  it('keeps the newest N entries and forgets the older ones', () => {
    const log = new RequestLog({ capacity: 100 });
    const ids: string[] = [];
    for (let i = 0; i < 1_250; i++) {
      const record = exchange({ request: { path: `/v1/item/${i}` } });
      ids.push(record.request.id);
      log.completed(record);
    }

    assert.equal(log.size, 100);
    const { entries, matched } = log.query({ limit: 10_000 });
    assert.equal(matched, 100);
    assert.deepEqual(
      entries.map((e) => e.id),
      ids.slice(-100).reverse(),
      'newest first, exactly the last 100',
    );
    assert.equal(log.get(ids[0]!), null, 'an evicted entry cannot be fetched');
    assert.equal(log.get(ids.at(-1)!)?.path, '/v1/item/1249');
  });

  it('builds entries for allowed and refused requests with the decision and limit state', () => {
    const log = new RequestLog();
    const allowed = exchange({ annotations: ALLOWED, status: 200, totalMs: 12 });
    const refused = exchange({
      annotations: RATE_LIMITED,
      status: 429,
      request: { method: 'POST', clientAddress: '::1', path: '/v1/forecast/oslo?units=metric' },
    });
    log.completed(allowed);
    log.completed(refused);

    const a = log.get(allowed.request.id)!;
    assert.equal(a.decision, 'allowed');
    assert.equal(a.consumer, 'alice');
    assert.equal(a.tier, 'free');
    assert.equal(a.route, 'forecast');
    assert.equal(a.status, 200);
    assert.equal(a.timings.total, 12);
    assert.equal(a.url, 'https://api.weather.test/v1/forecast/paris');
    assert.equal(a.userAgent, 'test-client/1.0');
    assert.equal(a.reason, undefined);

    const r = log.get(refused.request.id)!;
    assert.equal(r.decision, 'refused');
    assert.equal(r.reason, 'RATE_LIMITED');
    assert.equal(r.limit, 'free-minute');
    assert.equal(r.limits?.[0]?.remaining, 0);
    assert.equal(r.status, 429);
    assert.equal(r.method, 'POST');
    assert.equal(r.clientAddress, '::1');
    assert.equal(r.path, '/v1/forecast/oslo');
    assert.equal(r.query, 'units=metric');
    assert.ok(r.seq > a.seq);
  });

  it('filters by status, class, consumer, decision, method, host, route and text', () => {
    const log = new RequestLog();
    log.completed(exchange({ annotations: ALLOWED, status: 200 }));
    log.completed(exchange({ annotations: RATE_LIMITED, status: 429 }));
    log.completed(
      exchange({
        annotations: { ...ALLOWED, consumer: 'bob', tier: 'pro', route: 'history' },
        request: { method: 'DELETE', host: 'api.other.test', path: '/v1/history' },
        status: 503,
      }),
    );

    const count = (query: Parameters<RequestLog['query']>[0]) => log.query(query).matched;
    assert.equal(count({ status: '429' }), 1);
    assert.equal(count({ status: '4xx' }), 1);
    assert.equal(count({ status: '5xx' }), 1);
    assert.equal(count({ consumer: 'alice' }), 2);
    assert.equal(count({ tier: 'pro' }), 1);
    assert.equal(count({ decision: 'refused' }), 1);
    assert.equal(count({ method: 'delete' }), 1);
    assert.equal(count({ host: 'API.OTHER.TEST' }), 1);
    assert.equal(count({ route: 'weather.history' }), 1);
    assert.equal(count({ route: 'forecast' }), 2);
    assert.equal(count({ text: 'rate_limited' }), 1);
    assert.equal(count({ consumer: 'alice', status: '2xx' }), 1);
    assert.equal(log.query({ limit: 2 }).entries.length, 2);
    assert.equal(log.query({ limit: 2 }).matched, 3);
  });

  it('returns only entries after `since`, and tells subscribers of each new entry', () => {
    const log = new RequestLog();
    log.completed(exchange());
    const mark = log.lastSeq;

    const seen: LogRecord[] = [];
    const unsubscribe = log.subscribe((entry) => seen.push(entry));
    log.completed(exchange());
    log.completed(exchange());
    unsubscribe();
    log.completed(exchange());

    assert.equal(seen.length, 2);
    assert.equal(log.query({ since: mark }).matched, 3);
    assert.equal(log.query({ since: log.lastSeq }).matched, 0);
  });

  it('records what finished at the end of the turn, in order, and reads never lag', async () => {
    const log = new RequestLog();
    const seen: number[] = [];
    log.subscribe((record) => seen.push(record.seq));

    const ids = [exchange(), exchange(), exchange()].map((record) => {
      log.completed(record);
      return record.request.id;
    });
    assert.deepEqual(seen, [], 'the proxy only queued them');

    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(seen, [1, 2, 3]);

    const late = exchange();
    log.completed(late);
    const newest = log.query({ limit: 10 }).entries.map((entry) => entry.id);
    assert.deepEqual(newest, [late.request.id, ...ids.reverse()], 'a query records the queue');
    assert.deepEqual(seen, [1, 2, 3, 4]);
    assert.equal(log.get(late.request.id)?.seq, 4);
  });

  it('clears everything and says how many entries it dropped', () => {
    const log = new RequestLog({ capacity: 5 });
    for (let i = 0; i < 7; i++) log.completed(exchange());
    assert.equal(log.clear(), 5);
    assert.equal(log.size, 0);
    assert.equal(log.query().entries.length, 0);
    log.completed(exchange());
    assert.equal(log.size, 1);
  });

  it('counts an exchange it cannot describe instead of throwing into the proxy', () => {
    const log = new RequestLog();
    const broken = exchange();
    (broken.request as { path: unknown }).path = undefined;
    assert.doesNotThrow(() => log.completed(broken));
    assert.equal(log.unloggable, 1);
    assert.equal(log.size, 0);

    log.completed(exchange());
    assert.equal(log.query().entries[0]!.seq, 1, 'no gap in the sequence');
  });

  it('caps captured bodies and marks them truncated; binary bodies are base64', () => {
    const log = new RequestLog({ bodyCapBytes: 16 });
    const text = exchange({ responseBody: 'x'.repeat(40) });
    const binary = exchange({
      responseHeaders: { 'content-type': 'image/png' },
      responseBody: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2]),
    });
    log.completed(text);
    log.completed(binary);

    const t = log.get(text.request.id)!.responseBody!;
    assert.equal(t.text, 'x'.repeat(16));
    assert.equal(t.truncated, true);
    assert.equal(t.encoding, 'utf8');

    const b = log.get(binary.request.id)!.responseBody!;
    assert.equal(b.encoding, 'base64');
    assert.deepEqual(Buffer.from(b.text, 'base64'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2]));
    assert.equal(b.truncated, false);
  });
});

describe('masking before storing', () => {
  const KEY = 'tg_live_SECRET_key_0123456789';
  const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNlY3JldA';

  it('masks credential headers, query parameters and body fields, and scrubs echoes', () => {
    const log = new RequestLog({
      masker: new Masker({ headers: ['x-weather-key'], queryParams: ['appid'] }),
    });
    const record = exchange({
      request: {
        path: `/v1/forecast/paris?appid=${KEY}&units=metric&api_key=${KEY}2`,
        headers: {
          'x-weather-key': KEY,
          authorization: `Bearer ${JWT}`,
          cookie: 'session=abcdefgh12345678; theme=dark',
          'user-agent': 'curl/8',
        },
      },
      responseHeaders: {
        'content-type': 'application/json',
        'set-cookie': ['session=zyxwvuts98765432; Path=/; HttpOnly'],
        'x-echo': `you sent ${KEY}`,
      },
      requestBody: JSON.stringify({ password: 'hunter2hunter2', note: 'hi' }),
      responseBody: JSON.stringify({ echoedKey: KEY, token: 'tok_abcdefghijkl' }),
    });
    log.completed(record);

    const entry = log.get(record.request.id)!;
    const stored = JSON.stringify(entry);
    for (const secret of [KEY, JWT, 'abcdefgh12345678', 'zyxwvuts98765432', 'hunter2hunter2']) {
      assert.ok(!stored.includes(secret), `${secret} must not be stored`);
    }
    assert.ok(!stored.includes('tok_abcdefghijkl'));

    assert.equal(entry.requestHeaders['x-weather-key'], MASK);
    assert.equal(entry.requestHeaders.authorization, `Bearer ${MASK}`);
    assert.equal(entry.requestHeaders.cookie, `session=${MASK}; theme=${MASK}`);
    assert.equal(entry.requestHeaders['user-agent'], 'curl/8', 'harmless headers stay');
    assert.deepEqual(entry.responseHeaders['set-cookie'], [`session=${MASK}; Path=/; HttpOnly`]);
    assert.equal(entry.responseHeaders['x-echo'], `you sent ${MASK}`);
    assert.equal(entry.query, `appid=${MASK}&units=metric&api_key=${MASK}`);
    assert.match(entry.url, /units=metric/);
    assert.match(entry.requestBody!.text, /"note":"hi"/);
  });

  it("scrubs echoes in the upstream's headers right up to those the verdict added", () => {
    const log = new RequestLog({ masker: new Masker({ headers: ['x-weather-key'] }) });
    const record = exchange({
      request: { headers: { 'x-weather-key': KEY } },
      responseHeaders: {
        'content-type': 'application/json',
        'x-echo': `you sent ${KEY}`,
        ratelimit: '"free-minute";r=4;t=60',
        'x-ratelimit-remaining': '4',
      },
    });
    record.addedResponseHeaders = 4;
    log.completed(record);

    const entry = log.get(record.request.id)!;
    assert.equal(entry.responseHeaders['x-echo'], `you sent ${MASK}`);
    assert.equal(entry.responseHeaders.ratelimit, '"free-minute";r=4;t=60');
    assert.equal(entry.responseHeaders['x-ratelimit-remaining'], '4');
  });

  it('masks entries built lazily on every way out: query, get, subscribers, HAR', () => {
    const log = new RequestLog();
    const passed: string[] = [];
    log.subscribe((record) => {
      // Listeners see the record, its headers masked at once; bodies come with toEntry().
      passed.push(JSON.stringify(record), record.requestHeaderLines, record.url);
      if (record.id.endsWith('0')) passed.push(JSON.stringify(record.toEntry()));
    });
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const record = exchange({
        request: {
          path: `/v1/forecast/${i}?api_key=${KEY}&units=metric`,
          headers: { 'x-api-key': KEY, cookie: 'session=abcdefgh12345678' },
        },
        requestBody: JSON.stringify({ password: 'hunter2hunter2', n: i }),
        // Every other upstream echoes the key back: that body is masked at record time.
        responseBody: JSON.stringify(i % 2 ? { echoed: KEY } : { temp: 21 }),
      });
      ids.push(record.request.id);
      log.completed(record);
    }

    const queried = log.query({ limit: 12 }).entries;
    const texts = [
      ...passed,
      JSON.stringify(queried),
      JSON.stringify(log.query({ text: 'metric' }).entries),
      JSON.stringify(ids.map((id) => log.get(id))),
      JSON.stringify(toHar(queried)),
    ];
    for (const text of texts) {
      for (const secret of [KEY, 'abcdefgh12345678', 'hunter2hunter2']) {
        assert.ok(!text.includes(secret), `${secret} leaked: ${text.slice(0, 200)}`);
      }
    }
    assert.equal(queried.length, 12);
    for (const entry of queried) {
      assert.match(entry.url, /^https:\/\/api\.weather\.test\/v1\/forecast\/\d+\?api_key=/);
      assert.match(entry.requestBody!.text, /"password":"\[masked\]"/);
    }
    assert.equal(log.query({ text: 'forecast/11?' }).matched, 1, 'text filters read the URL');
  });

  it('tags the credential used, the same tag for the same key, without revealing it', () => {
    const log = new RequestLog();
    const send = (headers: Record<string, string>, path = '/v1/x') => {
      const record = exchange({ request: { headers, path } });
      log.completed(record);
      return log.get(record.request.id)!.credentialTag;
    };
    const a = send({ 'x-api-key': KEY });
    assert.ok(a && a.length >= 12);
    assert.equal(send({ 'x-api-key': KEY, cookie: 'x=12345678abc' }), a, 'cookies do not count');
    assert.equal(send({}, `/v1/x?api_key=${KEY}`), a, 'same key in the query, same tag');
    assert.notEqual(send({ authorization: `Bearer ${JWT}` }), a);
    assert.equal(send({ 'user-agent': 'curl/8' }), undefined, 'no credential, no tag');
    assert.ok(!KEY.includes(a!) && !a!.includes(KEY.slice(0, 6)));
  });
});
