import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { LOCK_FILE } from '../../proxy-core/store/lock-file.ts';
import { Store } from '../../proxy-core/store/store.ts';
import { tempDir, withTempDir } from '../support/temp-dir.ts';
import { exited, spawnFixture, waitForLine } from './child.ts';

/** The pid of a process that has just exited, so no process holds it (barring reuse). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

describe('one process per data dir', () => {
  it('refuses a second open from another process, naming the owner pid', async () => {
    const { dir, remove } = await tempDir();
    const holder = spawnFixture('hold-store', [dir]);
    try {
      const [, pid] = await waitForLine(holder, /^ready (\d+)$/);
      assert.equal(Number(pid), holder.pid);

      await assert.rejects(Store.open({ dataDir: dir }), {
        name: 'StoreError',
        code: 'DATA_DIR_BUSY',
        message:
          `Another Tollgate (pid ${holder.pid}) is using ${dir}; ` +
          'stop it or pick another --data-dir',
      });

      // Once the owner closes, the dir is free again.
      holder.stdin.end();
      await exited(holder);
      assert.equal(holder.exitCode, 0);
      const store = await Store.open({ dataDir: dir });
      await store.close();
    } finally {
      holder.kill('SIGKILL');
      await exited(holder);
      await remove();
    }
  });

  it('refuses a second open in the same process too', async () => {
    await withTempDir(async (dir) => {
      const first = await Store.open({ dataDir: dir });
      await assert.rejects(Store.open({ dataDir: dir }), new RegExp(`pid ${process.pid}\\)`));
      await first.close();
    });
  });

  it('takes over a lock whose process is gone', async () => {
    await withTempDir(async (dir) => {
      const lockPath = path.join(dir, LOCK_FILE);
      const pid = await deadPid();
      await writeFile(lockPath, JSON.stringify({ pid, startedAt: '2026-01-01T00:00:00Z' }));

      const store = await Store.open({ dataDir: dir });
      assert.equal(JSON.parse(await readFile(lockPath, 'utf8')).pid, process.pid);
      await store.close();

      await assert.rejects(readFile(lockPath), { code: 'ENOENT' }, 'close removes the lock');
    });
  });

  it('lets exactly one of several processes take over the same stale lock', async () => {
    const { dir, remove } = await tempDir();
    await writeFile(path.join(dir, LOCK_FILE), JSON.stringify({ pid: await deadPid() }));
    const children = Array.from({ length: 4 }, () => spawnFixture('hold-store', [dir]));
    try {
      const outcomes = await Promise.all(
        children.map((child) => waitForLine(child, /^(ready|refused) (.*)$/, 30_000)),
      );
      const winners = outcomes.filter((m) => m[1] === 'ready');
      const losers = outcomes.filter((m) => m[1] === 'refused');

      assert.equal(winners.length, 1, outcomes.map((m) => m[0]).join('\n'));
      for (const loser of losers) {
        assert.match(loser[2]!, new RegExp(`^Another Tollgate \\(pid ${winners[0]![2]}\\)`));
      }
      assert.equal(
        JSON.parse(await readFile(path.join(dir, LOCK_FILE), 'utf8')).pid,
        Number(winners[0]![2]),
      );
    } finally {
      for (const child of children) {
        child.stdin.end();
        child.kill('SIGKILL');
      }
      await Promise.all(children.map(exited));
      await remove();
    }
  });

  it('takes over a lock left empty by a crash between create and write', async () => {
    await withTempDir(async (dir) => {
      await writeFile(path.join(dir, LOCK_FILE), '');
      const store = await Store.open({ dataDir: dir });
      await store.close();
    });
  });

  it('takes over the lock of a writer killed with SIGKILL', async () => {
    const { dir, remove } = await tempDir();
    const holder = spawnFixture('hold-store', [dir]);
    try {
      await waitForLine(holder, /^ready/);
      holder.kill('SIGKILL');
      await exited(holder);

      const store = await Store.open({ dataDir: dir });
      assert.deepEqual(store.health, { ok: true });
      await store.close();
    } finally {
      holder.kill('SIGKILL');
      await remove();
    }
  });
});
