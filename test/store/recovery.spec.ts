import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { BackupRotation } from '../../proxy-core/store/backups.ts';
import { DurableJsonFile } from '../../proxy-core/store/durable-json-file.ts';
import { loadStoreData } from '../../proxy-core/store/load-store-data.ts';
import { silentLogger } from '../../proxy-core/log/logger.ts';
import { migrate, type Migration } from '../../proxy-core/store/migrations.ts';
import type { StoreData } from '../../proxy-core/store/types.ts';
import { DATA_FILE, Store } from '../../proxy-core/store/store.ts';
import { SCHEMA_VERSION } from '../../proxy-core/store/types.ts';
import { withTempDir } from '../support/temp-dir.ts';

/** A data dir whose file and backup both hold consumer usage for `acme`. */
async function seeded(dir: string): Promise<string> {
  const store = await Store.open({ dataDir: dir, backupIntervalMs: 0 });
  store.update((d) => (d.usage.acme = { state: { used: 42 }, updatedAt: 1 }));
  await store.close();
  return readFile(path.join(dir, DATA_FILE), 'utf8');
}

async function corruptFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.startsWith(`${DATA_FILE}.corrupt-`));
}

describe('store recovery', () => {
  it('moves a truncated file aside, restores the backup, and says so in health', async () => {
    await withTempDir(async (dir) => {
      const good = await seeded(dir);
      const truncated = good.slice(0, Math.floor(good.length / 2));
      await writeFile(path.join(dir, DATA_FILE), truncated);

      const store = await Store.open({ dataDir: dir });
      const health = store.health;

      assert.equal(store.data.usage.acme?.state.used, 42);
      assert.equal(health.ok, false);
      assert.match(health.problem ?? '', /damaged \(not valid JSON/);
      assert.match(health.problem ?? '', /restored the last good backup/);
      assert.equal(health.restoredFrom, path.join(dir, `${DATA_FILE}.bak`));

      const [aside] = await corruptFiles(dir);
      assert.ok(aside, 'the damaged file is kept');
      assert.match(aside, /^tollgate\.json\.corrupt-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z$/);
      assert.equal(health.movedAside, path.join(dir, aside));
      assert.equal(await readFile(path.join(dir, aside), 'utf8'), truncated);

      // The restored data is written back at once, so the next start is clean.
      const rewritten = JSON.parse(await readFile(path.join(dir, DATA_FILE), 'utf8'));
      assert.equal(rewritten.usage.acme.state.used, 42);
      await store.close();
    });
  });

  it('treats an empty file and a slice of the wrong type as damage', async () => {
    for (const [content, expected] of [
      ['', /the file is empty/],
      [JSON.stringify({ schemaVersion: 1, keys: {} }), /"keys" is not an array/],
      [JSON.stringify({ schemaVersion: 'one' }), /schemaVersion is missing/],
      ['[1, 2]', /not a JSON object/],
    ] as const) {
      await withTempDir(async (dir) => {
        await seeded(dir);
        await writeFile(path.join(dir, DATA_FILE), content);

        const store = await Store.open({ dataDir: dir });
        assert.match(store.health.problem ?? '', expected);
        assert.equal(store.data.usage.acme?.state.used, 42);
        assert.equal((await corruptFiles(dir)).length, 1);
        await store.close();
      });
    }
  });

  it('starts empty only when no good backup exists, and says so loudly', async () => {
    await withTempDir(async (dir) => {
      await seeded(dir);
      await writeFile(path.join(dir, DATA_FILE), '{"schemaVer');
      await writeFile(path.join(dir, `${DATA_FILE}.bak`), '{"sch');

      const store = await Store.open({ dataDir: dir });
      assert.deepEqual(store.data.usage, {});
      assert.equal(store.health.ok, false);
      assert.match(store.health.problem ?? '', /backup is damaged too/);
      assert.match(store.health.problem ?? '', /STARTED WITH EMPTY DATA/);
      assert.equal(store.health.restoredFrom, undefined);
      await store.close();
    });
  });

  it('restores the backup when the data file is missing but a backup exists', async () => {
    await withTempDir(async (dir) => {
      await seeded(dir);
      await rm(path.join(dir, DATA_FILE));

      const store = await Store.open({ dataDir: dir });
      assert.equal(store.data.usage.acme?.state.used, 42);
      assert.match(store.health.problem ?? '', /was missing/);
      await store.close();
    });
  });

  it('refuses a file from a newer schema and leaves it untouched', async () => {
    await withTempDir(async (dir) => {
      const newer = JSON.stringify({ schemaVersion: SCHEMA_VERSION + 1, futureSlice: [1] });
      const file = path.join(dir, DATA_FILE);
      await writeFile(file, newer);

      await assert.rejects(Store.open({ dataDir: dir }), {
        code: 'SCHEMA_TOO_NEW',
        message: new RegExp(`newer Tollgate \\(schema ${SCHEMA_VERSION + 1}; this one reads up to`),
      });
      assert.equal(await readFile(file, 'utf8'), newer);
      assert.deepEqual(await corruptFiles(dir), []);

      // The refusal released the lock: with the file gone the dir opens again.
      await rm(file);
      const store = await Store.open({ dataDir: dir });
      await store.close();
    });
  });
});

describe('migrations', () => {
  const steps: Migration[] = [
    {
      from: 1,
      describe: 'rename keys to apiKeys',
      migrate: ({ keys, ...rest }) => ({ ...rest, apiKeys: keys }),
    },
    { from: 2, describe: 'add limits', migrate: (d) => ({ ...d, limits: [] }) },
  ];

  it('applies each step in order up to the target schema', () => {
    const { data, applied } = migrate({ schemaVersion: 1, keys: ['k'] }, 'f.json', steps, 3);
    assert.deepEqual(data, { schemaVersion: 3, apiKeys: ['k'], limits: [] });
    assert.deepEqual(applied, ['1→2: rename keys to apiKeys', '2→3: add limits']);
  });

  it('starts from the file version, skipping steps already applied', () => {
    const { data } = migrate({ schemaVersion: 2, apiKeys: [] }, 'f.json', steps, 3);
    assert.deepEqual(data, { schemaVersion: 3, apiKeys: [], limits: [] });
  });

  it('leaves a current file as it is', () => {
    const { data, applied } = migrate({ schemaVersion: 3, x: 1 }, 'f.json', steps, 3);
    assert.deepEqual(data, { schemaVersion: 3, x: 1 });
    assert.deepEqual(applied, []);
  });

  it('migrates an older data file at open and keeps the original beside it', async () => {
    await withTempDir(async (dir) => {
      const target = path.join(dir, DATA_FILE);
      const original = JSON.stringify({ schemaVersion: 1, keys: [], settings: { a: 1 } });
      await writeFile(target, original);
      const addTheme: Migration = {
        from: 1,
        describe: 'default theme',
        migrate: (d) => ({ ...d, settings: { ...(d.settings as object), theme: 'system' } }),
      };

      const file = new DurableJsonFile<StoreData>(target);
      const loaded = await loadStoreData(file, new BackupRotation(target, 0), silentLogger, {
        migrations: [addTheme],
        target: 2,
      });

      assert.equal(loaded.data.schemaVersion, 2);
      assert.deepEqual(loaded.data.settings, { a: 1, theme: 'system' });
      assert.equal(loaded.mustWrite, true, 'the migrated data is written back');
      assert.deepEqual(loaded.health, { ok: true });
      assert.equal(await readFile(`${target}.before-migration`, 'utf8'), original);
    });
  });

  it('names the missing step when the list has a gap', () => {
    assert.throws(
      () => migrate({ schemaVersion: 1 }, 'f.json', [steps[1]!], 3),
      /no migration from schema 1/,
    );
  });
});
