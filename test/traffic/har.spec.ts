import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { toHar } from '../../proxy-core/traffic/har.ts';
import { RequestLog } from '../../proxy-core/traffic/request-log.ts';
import { ALLOWED, RATE_LIMITED, exchange } from './exchange-records.ts';

// har-validator checks against the published HAR 1.2 JSON Schema (har-schema); it ships no types.
const harValidator = createRequire(import.meta.url)('har-validator') as {
  har(data: unknown): Promise<unknown>;
};

async function assertValidHar(har: unknown): Promise<void> {
  try {
    await harValidator.har(har);
  } catch (error) {
    assert.fail(`HAR rejected: ${JSON.stringify((error as { errors?: unknown }).errors)}`);
  }
}

describe('HAR 1.2 export', () => {
  it('passes the HAR schema validator with the entries expected, oldest first', async () => {
    const log = new RequestLog();
    log.completed(
      exchange({
        annotations: ALLOWED,
        request: {
          method: 'POST',
          path: '/v1/forecast?units=metric&api_key=tg_secret_key_123456',
          headers: { 'content-type': 'application/json', 'x-api-key': 'tg_secret_key_123456' },
        },
        requestBody: '{"city":"paris"}',
        responseBody: '{"temp":21}',
      }),
    );
    log.completed(exchange({ annotations: RATE_LIMITED, status: 429 }));
    log.completed(
      exchange({
        responseHeaders: { 'content-type': 'image/png' },
        responseBody: Buffer.from([0, 1, 2, 3]),
        request: { scheme: 'http', host: '::1', port: 8080, path: '/logo.png' },
      }),
    );

    const har = toHar(log.query({ limit: 100 }).entries, '1.2.3');
    await assertValidHar(har);

    const [first, second, third] = har.log.entries;
    assert.equal(har.log.entries.length, 3);
    assert.equal(har.log.creator.version, '1.2.3');
    assert.equal(first!.request.method, 'POST');
    assert.equal(first!.request.postData?.text, '{"city":"paris"}');
    assert.deepEqual(
      first!.request.queryString.find((q) => q.name === 'units'),
      { name: 'units', value: 'metric' },
    );
    assert.equal(first!.response.content.text, '{"temp":21}');
    assert.equal(first!._tollgate.consumer, 'alice');
    assert.equal(second!.response.status, 429);
    assert.equal(second!._tollgate.reason, 'RATE_LIMITED');
    assert.equal(third!.request.url, 'http://[::1]:8080/logo.png');
    assert.equal(third!.response.content.encoding, 'base64');

    assert.ok(!JSON.stringify(har).includes('tg_secret_key_123456'), 'no key in the HAR');
  });

  it('exports an empty log as a valid HAR', async () => {
    await assertValidHar(toHar([]));
  });
});
