import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Store } from '../../proxy-core/store/store.ts';
import { tempDir } from '../support/temp-dir.ts';
import { exited, spawnFixture, waitForLine } from './child.ts';

const FLUSH_INTERVAL_MS = 200;
// One durable write (two fsyncs) on a busy shared machine, plus the child's 10 ms sampling.
const WRITE_SLACK_MS = 1000;

describe('store under kill -9', () => {
  it('parses after the writer is killed under load and lost at most the flush window', async () => {
    const { dir, remove } = await tempDir();
    const child = spawnFixture('write-under-load', [dir, String(FLUSH_INTERVAL_MS)]);
    try {
      const known: { count: number; at: number }[] = [];
      let lastFlushed = 0;
      let flushes = 0;
      child.stdout.on('data', (chunk: Buffer) => {
        for (const line of chunk.toString().split('\n')) {
          const [kind, count, at] = line.split(' ');
          if (kind === 'known') known.push({ count: Number(count), at: Number(at) });
          if (kind === 'flushed') {
            lastFlushed = Math.max(lastFlushed, Number(count));
            flushes += 1;
          }
        }
      });

      // Let it run under load through a few flushes, then kill it without warning.
      await waitForLine(child, /^started$/);
      const deadline = Date.now() + 15_000;
      while (flushes < 4) {
        assert.ok(Date.now() < deadline, 'the writer did not flush 4 times in 15 s');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await new Promise((resolve) => setTimeout(resolve, 37));
      const killedAt = Date.now();
      child.kill('SIGKILL');
      await exited(child);
      assert.equal(child.signalCode, 'SIGKILL');

      // Reopen: the dead writer's lock is taken over, the file parses, nothing was recovered.
      const store = await Store.open({ dataDir: dir });
      const onDisk = store.data.settings.count as number;
      const usage = Object.values(store.data.usage).map((u) => u.state.used ?? Infinity);
      assert.deepEqual(store.health, { ok: true });
      await store.close();

      assert.ok(
        lastFlushed > 0 && onDisk >= lastFlushed,
        `disk ${onDisk} < flushed ${lastFlushed}`,
      );
      const dueBy = killedAt - FLUSH_INTERVAL_MS - WRITE_SLACK_MS;
      const mustHave = known.filter((k) => k.at <= dueBy).at(-1)?.count ?? 0;
      assert.ok(onDisk >= mustHave, `disk ${onDisk} lost more than the window (had ${mustHave})`);
      // One consistent snapshot: the counters were written together with the count.
      assert.equal(usage.length, 20);
      assert.equal(Math.max(...usage), onDisk);
    } finally {
      child.kill('SIGKILL');
      await exited(child);
      await remove();
    }
  });
});
