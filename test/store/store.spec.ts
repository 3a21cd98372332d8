import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DATA_FILE, Store } from '../../proxy-core/store/store.ts';
import { SCHEMA_VERSION } from '../../proxy-core/store/types.ts';
import { withTempDir } from '../support/temp-dir.ts';

const run = promisify(execFile);

async function readData(dir: string) {
  return JSON.parse(await readFile(path.join(dir, DATA_FILE), 'utf8'));
}

describe('Store', () => {
  it('creates the data dir and an empty data file of the current schema', async () => {
    await withTempDir(async (dir) => {
      const dataDir = path.join(dir, 'nested', 'data');
      const store = await Store.open({ dataDir });
      await store.close();

      const data = await readData(dataDir);
      assert.equal(data.schemaVersion, SCHEMA_VERSION);
      assert.deepEqual(data.keys, []);
      assert.deepEqual(store.health, { ok: true });
    });
  });

  it('has the last of 1,000 rapid updates on disk after flush', async () => {
    await withTempDir(async (dir) => {
      const store = await Store.open({ dataDir: dir });
      for (let n = 1; n <= 1000; n++) {
        store.update((d) => {
          d.clock.offsetMs = n;
          d.usage[`c${n % 7}`] = { state: { n }, updatedAt: n };
        });
      }
      assert.equal(store.data.clock.offsetMs, 1000, 'updates apply at once in memory');

      await store.flush();
      const data = await readData(dir);
      assert.equal(data.clock.offsetMs, 1000);
      assert.deepEqual(data.usage.c6, { state: { n: 1000 }, updatedAt: 1000 });
      await store.close();
    });
  });

  it('writes an update by itself within the flush interval', async () => {
    await withTempDir(async (dir) => {
      const store = await Store.open({ dataDir: dir, flushIntervalMs: 100 });
      store.update((d) => (d.settings.theme = 'dark'));
      assert.equal((await readData(dir)).settings.theme, undefined, 'not written synchronously');

      // No flush() call: the store's own timer must write it.
      const deadline = Date.now() + 5000;
      while ((await readData(dir)).settings.theme !== 'dark') {
        assert.ok(Date.now() < deadline, 'update not on disk 5 s after a 100 ms interval');
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      await store.close();
    });
  });

  it('keeps data across close and reopen, and refuses updates after close', async () => {
    await withTempDir(async (dir) => {
      const first = await Store.open({ dataDir: dir });
      first.update((d) =>
        d.keys.push({ id: 'k1', consumer: 'acme', sha256: 'ab', prefix: 'tg_', createdAt: 'now' }),
      );
      await first.close();
      assert.throws(() => first.update(() => undefined), /update after close/);

      const second = await Store.open({ dataDir: dir });
      assert.equal(second.data.keys[0]?.id, 'k1');
      await second.close();
    });
  });

  it('writes a backup of the last good file', async () => {
    await withTempDir(async (dir) => {
      const store = await Store.open({ dataDir: dir, backupIntervalMs: 0 });
      store.update((d) => (d.settings.n = 1));
      await store.flush();
      await store.close();

      const backup = JSON.parse(await readFile(path.join(dir, `${DATA_FILE}.bak`), 'utf8'));
      assert.equal(backup.settings.n, 1);
    });
  });

  it('rotates the backup at most once per backup interval', async () => {
    await withTempDir(async (dir) => {
      const store = await Store.open({ dataDir: dir, backupIntervalMs: 60_000 });
      store.update((d) => (d.settings.n = 2));
      await store.flush();
      await store.close();

      // The backup was taken at open (empty data); the write right after is within the interval.
      const backup = JSON.parse(await readFile(path.join(dir, `${DATA_FILE}.bak`), 'utf8'));
      assert.equal(backup.settings.n, undefined);
      assert.equal((await readData(dir)).settings.n, 2);
    });
  });

  it('rejects a negative flush interval with a clear error', async () => {
    await withTempDir(async (dir) => {
      await assert.rejects(Store.open({ dataDir: dir, flushIntervalMs: -1 }), /flushIntervalMs/);
    });
  });

  it('still writes to disk when NODE_ENV=test (no in-memory preset)', async () => {
    await withTempDir(async (dir) => {
      const storeModule = fileURLToPath(
        new URL('../../proxy-core/store/store.ts', import.meta.url),
      );
      const script = `
        const { Store } = await import(${JSON.stringify(storeModule)});
        const store = await Store.open({ dataDir: ${JSON.stringify(dir)} });
        store.update((d) => { d.settings.env = process.env.NODE_ENV; });
        await store.close();`;
      await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        env: { ...process.env, NODE_ENV: 'test' },
        timeout: 15_000,
      });

      assert.equal((await readData(dir)).settings.env, 'test');
    });
  });
});
