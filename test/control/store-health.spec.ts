import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createControlClient } from '../../proxy-core/control/client.ts';
import { startControlApi } from '../../proxy-core/control/server.ts';
import { DATA_FILE, Store } from '../../proxy-core/store/store.ts';
import { runCli } from '../support/cli.ts';
import { tempDir } from '../support/temp-dir.ts';

describe('store health in status', { timeout: 30_000 }, () => {
  it('shows a recovered store in the API and in `tollgate status` (exit code 1)', async () => {
    const { dir, remove } = await tempDir();
    try {
      // A good store with a backup, then a truncated main file, as a crash mid-copy leaves it.
      const seed = await Store.open({ dataDir: dir, backupIntervalMs: 0 });
      seed.update((d) => (d.settings.marker = 'kept'));
      await seed.close();
      const good = await readFile(path.join(dir, DATA_FILE), 'utf8');
      await writeFile(path.join(dir, DATA_FILE), good.slice(0, good.length / 2));

      const store = await Store.open({ dataDir: dir });
      const api = await startControlApi({ port: 0, dataDir: dir, store });
      try {
        const client = createControlClient({ baseUrl: api.url, token: api.token });
        const status = await client.status();
        assert.equal(status.store?.ok, false);
        assert.match(status.store?.problem ?? '', /restored the last good backup/);
        assert.match(status.store?.movedAside ?? '', /tollgate\.json\.corrupt-/);

        const cli = await runCli(['status', '--data-dir', dir]);
        assert.equal(cli.code, 1);
        assert.match(cli.stdout, /Store:\s+PROBLEM: .*restored the last good backup/);
        assert.match(cli.stdout, /damaged file moved to .*tollgate\.json\.corrupt-/);
      } finally {
        await api.close();
        await store.close();
      }
    } finally {
      await remove();
    }
  });
});
