import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createControlClient } from '../../proxy-core/control/client.ts';
import { startControlApi } from '../../proxy-core/control/server.ts';
import { Store } from '../../proxy-core/store/store.ts';
import { tempDir } from '../support/temp-dir.ts';
import { exchange } from '../traffic/exchange-records.ts';

describe('alerts through the control API', () => {
  it('lists alerts with their requests, and keeps changed thresholds across a restart', async () => {
    const dir = await tempDir();
    const store = await Store.open({ dataDir: dir.dir, flushIntervalMs: 0 });
    try {
      const first = await startControlApi({ port: 0, store });
      const client = createControlClient({ baseUrl: first.url, token: first.token });
      assert.equal(
        (await client.alerts.setThresholds({ authFailureBurst: 3 })).authFailureBurst,
        3,
      );

      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const record = exchange({
          status: 401,
          annotations: { decision: 'refused', api: 'weather', reason: 'AUTH_INVALID' },
        });
        ids.push(record.request.id);
        first.requestLog.completed(record);
      }
      const { alerts } = await client.alerts.list();
      assert.equal(alerts.length, 1);
      assert.equal(alerts[0]!.kind, 'auth-failure-burst');
      assert.deepEqual(alerts[0]!.requestIds, ids);
      const logged = await client.log.get(ids[0]!);
      assert.equal(logged.status, 401, 'the ids lead to the log entries');
      await first.close();

      const second = await startControlApi({ port: 0, store });
      const again = createControlClient({ baseUrl: second.url, token: second.token });
      assert.equal((await again.alerts.list()).thresholds.authFailureBurst, 3);
      const refused = await again.alerts.setThresholds({ quotaRemainingShare: 2 }).then(
        () => null,
        (error: { status: number }) => error.status,
      );
      assert.equal(refused, 400);
      await second.close();
    } finally {
      await store.close();
      await dir.remove();
    }
  });
});
