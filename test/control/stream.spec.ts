import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { StreamEvent } from '../../proxy-core/contract/control-api.ts';
import { createControlClient } from '../../proxy-core/control/client.ts';
import { startControlApi, type ControlApi } from '../../proxy-core/control/server.ts';
import { ALLOWED, RATE_LIMITED, exchange } from '../traffic/exchange-records.ts';

/** Resolves once `events` holds an event matching `test`, or fails after `ms`. */
async function waitFor(events: StreamEvent[], test: (e: StreamEvent) => boolean, ms = 5_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const found = events.find(test);
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.fail(`no matching event within ${ms} ms; got ${events.map((e) => e.type).join(', ')}`);
}

describe('live event stream', () => {
  let api: ControlApi;
  let client: ReturnType<typeof createControlClient>;

  before(async () => {
    api = await startControlApi({ port: 0, tickMs: 100 });
    client = createControlClient({ baseUrl: api.url, token: api.token });
  });
  after(() => api.close());

  it('sends new entries matching its filters as they happen, and metric ticks', async () => {
    const events: StreamEvent[] = [];
    const abort = new AbortController();
    const done = client.stream((e) => events.push(e), { consumer: 'alice' }, abort.signal);

    await waitFor(events, (e) => e.type === 'metrics');
    api.requestLog.completed(exchange({ annotations: { ...ALLOWED, consumer: 'bob' } }));
    const record = exchange({ annotations: RATE_LIMITED, status: 429 });
    api.requestLog.completed(record);

    const entry = await waitFor(events, (e) => e.type === 'entry');
    assert.equal(entry.type === 'entry' && entry.data.id, record.request.id);
    assert.equal(entry.type === 'entry' && entry.data.reason, 'RATE_LIMITED');
    assert.ok(!events.some((e) => e.type === 'entry' && e.data.consumer === 'bob'), 'filtered out');
    const tick = await waitFor(events, (e) => e.type === 'metrics' && e.data.total.count === 2);
    assert.equal(tick.type === 'metrics' && tick.data.total.status429, 1);

    abort.abort();
    await done;
  });

  it('sends entries with their URL and masked bodies, never the key', async () => {
    const key = 'stream-key-0123456789';
    const events: StreamEvent[] = [];
    const abort = new AbortController();
    const done = client.stream((e) => events.push(e), { consumer: 'carol' }, abort.signal);
    await waitFor(events, (e) => e.type === 'metrics');

    const record = exchange({
      annotations: { ...ALLOWED, consumer: 'carol' },
      request: { path: `/v1/x?api_key=${key}`, headers: { 'x-api-key': key } },
      requestBody: JSON.stringify({ password: 'hunter2hunter2' }),
      responseBody: JSON.stringify({ temp: 21 }),
    });
    api.requestLog.completed(record);
    const entry = await waitFor(events, (e) => e.type === 'entry');
    abort.abort();
    await done;

    assert.ok(entry.type === 'entry');
    assert.match(entry.data.url, /^https:\/\/api\.weather\.test\/v1\/x\?api_key=/);
    assert.equal(entry.data.responseBody?.text, '{"temp":21}');
    const text = JSON.stringify(entry);
    assert.ok(!text.includes(key) && !text.includes('hunter2hunter2'), text);
  });

  it('replays the entries after `since` first, so a reconnecting client misses nothing', async () => {
    const mark = api.requestLog.lastSeq;
    const missed = exchange({ annotations: ALLOWED });
    api.requestLog.completed(missed);

    const events: StreamEvent[] = [];
    const abort = new AbortController();
    const done = client.stream((e) => events.push(e), { since: mark }, abort.signal);
    const entry = await waitFor(events, (e) => e.type === 'entry');
    assert.equal(entry.type === 'entry' && entry.data.id, missed.request.id);

    abort.abort();
    await done;
  });

  it('tells subscribers when the log is cleared', async () => {
    const events: StreamEvent[] = [];
    const abort = new AbortController();
    const done = client.stream((e) => events.push(e), {}, abort.signal);
    await waitFor(events, (e) => e.type === 'metrics');
    await client.log.clear();
    await waitFor(events, (e) => e.type === 'cleared');
    abort.abort();
    await done;
  });
});
