import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { after, before, describe, it } from 'node:test';
import { createControlClient } from '../../proxy-core/control/client.ts';
import type { RequestLogEntry } from '../../proxy-core/contract/control-api.ts';
import { fixtureText } from '../policies/helpers.ts';
import { tempDir } from '../support/temp-dir.ts';
import { startTestTollgate, type TestTollgate } from '../support/tollgate.ts';
import { startHttpUpstream, type TestUpstream } from '../support/upstream.ts';

// Tollgate as `serve` runs it (store, engine, request log with its default 10,000 entries,
// metrics, alerts, control API), fed 50,000 requests, as a user's busy client would.
const TOTAL = Number(process.env.TOLLGATE_TEST_REQUESTS ?? 50_000);
const LOG_CAPACITY = 10_000;
const CONCURRENCY = 32;
const SECRETS = ['free-key-123', 'pro-key-456', 'bulk-key-789'];

/** The example policy plus a consumer whose limits never refuse, so most requests pass. */
function policyText(upstreamUrl: string): string {
  return (
    fixtureText('example.yaml').replace('http://127.0.0.1:5000', upstreamUrl) +
    '\n  - { name: acme-bulk, tier: bulk, keys: [bulk-key-789] }\n'
  ).replace(
    'tiers:\n',
    'tiers:\n  - name: bulk\n    routes: [read]\n    limits:\n      - { requests: 1000000000, per: minute }\n',
  );
}

/** Heap in use after a full collection, so the figure is what is kept, not garbage. */
function retainedHeapMb(): number {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  return process.memoryUsage().heapUsed / 1e6;
}

describe('50,000 requests through Tollgate with the request log on', { timeout: 300_000 }, () => {
  let upstream: TestUpstream;
  let data: Awaited<ReturnType<typeof tempDir>>;
  let tollgate: TestTollgate;
  let agent: http.Agent;
  let client: ReturnType<typeof createControlClient>;
  let heapWhenFull = 0;
  let heapAtEnd = 0;
  const lastPaths: string[] = [];

  const send = (target: string, headers: Record<string, string>, method = 'GET') =>
    new Promise<number>((resolve, reject) => {
      const proxy = new URL(tollgate.proxyUrl);
      const req = http.request(
        {
          host: proxy.hostname,
          port: Number(proxy.port),
          agent,
          method,
          path: `http://api.weather.test${target}`,
          headers: { host: 'api.weather.test', ...headers },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        },
      );
      req.on('error', reject);
      req.end();
    });

  /** Request i: mostly the bulk key in the query, every tenth the free key, some with none. */
  const request = (i: number) => {
    if (i % 10 === 0) return send(`/v1/forecast/f${i}`, { 'x-api-key': 'free-key-123' });
    if (i % 97 === 0) return send(`/v1/forecast/n${i}`, {});
    return send(`/v1/forecast/b${i}?api_key=bulk-key-789`, {});
  };

  before(async () => {
    upstream = await startHttpUpstream();
    data = await tempDir('tollgate-50k-');
    const policyFile = path.join(data.dir, 'policy.yaml');
    await writeFile(policyFile, policyText(upstream.url));

    tollgate = await startTestTollgate({ policyFile, dataDir: path.join(data.dir, 'data') });
    const control = tollgate.tollgate.control!;
    client = createControlClient({ baseUrl: control.url, token: control.token });
    agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

    let next = 0;
    const worker = async () => {
      while (next < TOTAL) {
        const i = next++;
        await request(i);
        if (i === LOG_CAPACITY * 2) heapWhenFull = retainedHeapMb();
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    heapAtEnd = retainedHeapMb();

    // Three last requests one after the other, whose entries must be the newest three.
    for (const target of ['/v1/forecast/last-1?api_key=bulk-key-789', '/v1/forecast/last-2']) {
      await send(target, {});
      lastPaths.push(target.split('?')[0]!);
    }
    await send('/v1/alerts', { 'x-api-key': 'free-key-123' }, 'POST');
    lastPaths.push('/v1/alerts');
  });

  after(async () => {
    agent?.destroy();
    await tollgate?.stop();
    await upstream?.close();
    await data?.remove();
  });

  it('keeps the newest 10,000 entries, newest first', async () => {
    const status = await client.status();
    assert.equal(status.log.size, LOG_CAPACITY);

    const newest = await client.log.query({ limit: 3 });
    assert.deepEqual(
      newest.entries.map((e: RequestLogEntry) => e.path.split('?')[0]),
      [...lastPaths].reverse(),
    );
  });

  it('records allowed and refused requests with who, what and why', async () => {
    const [alerts, nobody, bulk] = (await client.log.query({ limit: 3 })).entries;
    assert.equal(bulk!.status, 200);
    assert.equal(bulk!.decision, 'allowed');
    assert.equal(bulk!.consumer, 'acme-bulk');

    assert.equal(nobody!.status, 401);
    assert.equal(nobody!.reason, 'AUTH_MISSING');

    assert.equal(alerts!.status, 403);
    assert.equal(alerts!.consumer, 'acme-free');
    assert.equal(alerts!.reason, 'ROUTE_NOT_ENTITLED');

    const limited = await client.log.query({ consumer: 'acme-free', status: '429', limit: 1 });
    assert.equal(limited.entries[0]?.reason, 'RATE_LIMITED');
  });

  it('does not grow its retained heap once the log is full', () => {
    const growth = heapAtEnd - heapWhenFull;
    assert.ok(growth < 25, `heap grew ${growth.toFixed(1)} MB from 20,000 to 50,000 requests`);
  });

  it('keeps every key and the control token out of the log and the HAR', async () => {
    const control = tollgate.tollgate.control!;
    const log = JSON.stringify((await client.log.query({ limit: 500 })).entries);
    const har = JSON.stringify(await client.log.har({ limit: 500 }));

    for (const secret of [...SECRETS, control.token]) {
      assert.ok(!log.includes(secret), `log shows ${secret.slice(0, 4)}…`);
      assert.ok(!har.includes(secret), `HAR shows ${secret.slice(0, 4)}…`);
    }
  });
});
