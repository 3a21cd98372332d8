import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ByteRing } from '../../proxy-core/traffic/byte-ring.ts';
import { LogRecord } from '../../proxy-core/traffic/log-record.ts';
import { Masker } from '../../proxy-core/traffic/masking.ts';
import { RecordStore } from '../../proxy-core/traffic/record-store.ts';
import { RequestLog } from '../../proxy-core/traffic/request-log.ts';
import { RATE_LIMITED, exchange } from './exchange-records.ts';

describe('byte ring', () => {
  it('gives back what was written, across laps, and says which positions are gone', () => {
    const ring = new ByteRing(64, 64);
    const written: { position: number; bytes: number; text: string }[] = [];
    for (let i = 0; i < 40; i++) {
      const text = `record-${i}-é`;
      written.push({ ...ring.writeText(text, Infinity), text });
    }

    const newest = written.at(-1)!;
    assert.equal(ring.text(newest.position, newest.bytes), newest.text);
    assert.equal(ring.holds(newest.position), true);
    assert.equal(ring.holds(written[0]!.position), false, 'the first lap is overwritten');
    for (const w of written.filter((w) => ring.holds(w.position))) {
      assert.equal(ring.text(w.position, w.bytes), w.text);
    }
    assert.equal(ring.size, 64, 'nothing asked to be kept: no growth');
  });

  it('grows instead of overwriting what must be kept, up to its maximum', () => {
    const ring = new ByteRing(64, 256);
    const first = ring.writeText('keep me, I am the oldest', Infinity);
    for (let i = 0; i < 20; i++) ring.writeText(`filler ${i} ..........`, first.position);

    assert.equal(ring.size, 256);
    assert.equal(ring.holds(first.position), false, 'at its largest the oldest gives way');

    const grown = new ByteRing(64, 1024);
    const kept = grown.writeText('keep me, I am the oldest', Infinity);
    for (let i = 0; i < 20; i++) grown.writeText(`filler ${i} ..........`, kept.position);
    assert.equal(grown.holds(kept.position), true);
    assert.equal(grown.text(kept.position, kept.bytes), 'keep me, I am the oldest');
  });

  it('keeps bytes exact through growth', () => {
    const ring = new ByteRing(16, 4096);
    const chunks = Array.from({ length: 50 }, (_, i) => Buffer.from([i, 255 - i, 0, i * 3]));
    const positions = chunks.map((chunk, i) => ring.writeBytes(chunk, i === 0 ? Infinity : 0));
    chunks.forEach((chunk, i) => assert.deepEqual(ring.bytes(positions[i]!, 4), chunk));
  });
});

describe('record store', () => {
  const masker = new Masker();

  it('gives back every field of a record, and the same entry, masked before keeping', () => {
    const store = new RecordStore({ capacity: 4 });
    const original = LogRecord.fromExchange(
      exchange({
        annotations: RATE_LIMITED,
        status: 429,
        request: {
          method: 'POST',
          scheme: 'http',
          host: '::1',
          port: 8080,
          path: '/v1/forecast/zürich?units=metric&api_key=tg_live_secret_0001',
          headers: { 'user-agent': 'client/2', 'x-api-key': 'tg_live_secret_0002' },
        },
        responseHeaders: { 'content-type': 'application/json', 'set-cookie': ['a=b', 'c=d'] },
        requestBody: '{"password":"hunter2hunter2"}',
        responseBody: Buffer.from([0, 1, 2, 3]),
      }),
      7,
      masker,
      1024,
    );
    store.put(2, original, -1);

    assert.deepEqual(original.requestBody, {
      encoding: 'utf8',
      text: '{"password":"[masked]"}',
      size: 29,
      truncated: false,
    });
    const revived = store.record(2);
    assert.deepEqual(revived.toEntry(), original.toEntry());
    for (const kept of [original, revived]) {
      const text = JSON.stringify(kept);
      for (const secret of ['hunter2hunter2', 'tg_live_secret_0001', 'tg_live_secret_0002']) {
        assert.ok(!text.includes(secret), `${secret} is masked before it is kept`);
      }
    }
    assert.equal(revived.userAgent, 'client/2');
    assert.equal(revived.url, 'http://[::1]:8080' + original.target);
    assert.deepEqual(revived.limits, RATE_LIMITED.limits);
  });

  it('drops the oldest bodies when the body arena is full, and keeps their records', () => {
    const log = new RequestLog({ capacity: 100, bodyArenaBytes: 64 * 1024 });
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const record = exchange({ responseBody: Buffer.alloc(8 * 1024, 65 + i) });
      ids.push(record.request.id);
      log.completed(record);
    }

    assert.equal(log.size, 20);
    const newest = log.get(ids.at(-1)!)!;
    assert.equal(newest.responseBody!.text, String.fromCharCode(65 + 19).repeat(8 * 1024));
    const oldest = log.get(ids[0]!)!;
    assert.equal(oldest.status, 200, 'the record stays');
    assert.equal(oldest.responseBody, undefined, 'its body gave way');
  });

  it('keeps every body while the arena may still grow, whatever records lie between', () => {
    const log = new RequestLog({ capacity: 100, bodyArenaBytes: 1024 * 1024 });
    const withBodies: string[] = [];
    for (let i = 0; i < 60; i++) {
      // Every other exchange has no body: 204s, HEADs, redirects.
      const record = i % 2 ? exchange({ responseBody: Buffer.alloc(8 * 1024, 97) }) : exchange();
      if (i % 2) withBodies.push(record.request.id);
      log.completed(record);
    }

    for (const id of withBodies) {
      assert.equal(log.get(id)!.responseBody?.size, 8 * 1024, `body of ${id} kept`);
    }
  });

  it('holds the newest records in order through many laps', () => {
    const log = new RequestLog({ capacity: 50 });
    const ids: string[] = [];
    for (let i = 0; i < 5_000; i++) {
      const record = exchange({ request: { path: `/v1/item/${i}?page=${'x'.repeat(i % 300)}` } });
      ids.push(record.request.id);
      log.completed(record);
    }

    const entries = log.query({ limit: 50 }).entries;
    assert.deepEqual(
      entries.map((e) => e.id),
      ids.slice(-50).reverse(),
    );
    for (const entry of entries) {
      const i = ids.indexOf(entry.id);
      assert.equal(entry.path, `/v1/item/${i}`);
      assert.equal(entry.query, `page=${'x'.repeat(i % 300)}`);
    }
  });
});
