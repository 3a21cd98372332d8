import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { DurableJsonFile } from '../../proxy-core/store/durable-json-file.ts';
import { withTempDir } from '../support/temp-dir.ts';

describe('DurableJsonFile', () => {
  it('reads null when the file does not exist', async () => {
    await withTempDir(async (dir) => {
      const file = new DurableJsonFile<{ n: number }>(path.join(dir, 'data.json'));
      assert.equal(await file.read(), null);
    });
  });

  it('leaves a parseable file, owner-only, and no temp file behind', async () => {
    await withTempDir(async (dir) => {
      const target = path.join(dir, 'data.json');
      const file = new DurableJsonFile<{ n: number; text: string }>(target);

      await file.write({ n: 7, text: 'é\n"quoted"' });

      assert.deepEqual(JSON.parse(await readFile(target, 'utf8')), { n: 7, text: 'é\n"quoted"' });
      assert.deepEqual(await file.read(), { n: 7, text: 'é\n"quoted"' });
      assert.deepEqual(await readdir(dir), ['data.json']);
      if (process.platform !== 'win32') {
        assert.equal((await stat(target)).mode & 0o777, 0o600);
      }
    });
  });

  it('lands the newest of 1,000 concurrent writes and settles every promise', async () => {
    await withTempDir(async (dir) => {
      const target = path.join(dir, 'data.json');
      const file = new DurableJsonFile<{ n: number }>(target);

      // Fired without awaiting, as a burst of updates would be.
      const writes = Array.from({ length: 1000 }, (_, n) => file.write({ n }));
      await Promise.all(writes);

      assert.deepEqual(JSON.parse(await readFile(target, 'utf8')), { n: 999 });
    });
  });

  it('snapshots the data at write time, not when the queued write runs', async () => {
    await withTempDir(async (dir) => {
      const target = path.join(dir, 'data.json');
      const file = new DurableJsonFile<{ n: number }>(target);
      const data = { n: 1 };

      const first = file.write(data);
      data.n = 2;
      const second = file.write(data);
      data.n = 3; // changed after the last write call: must not land
      await Promise.all([first, second]);

      assert.deepEqual(JSON.parse(await readFile(target, 'utf8')), { n: 2 });
    });
  });

  it('throws SyntaxError on a file that does not parse, leaving it in place', async () => {
    await withTempDir(async (dir) => {
      const target = path.join(dir, 'data.json');
      await writeFile(target, '{"n": 1');
      const file = new DurableJsonFile<{ n: number }>(target);

      await assert.rejects(file.read(), SyntaxError);
      assert.equal(await readFile(target, 'utf8'), '{"n": 1');
    });
  });

  it('rejects a write into a missing directory, and writes once it exists', async () => {
    await withTempDir(async (dir) => {
      const target = path.join(dir, 'sub', 'data.json');
      const file = new DurableJsonFile<{ n: number }>(target);

      await assert.rejects(file.write({ n: 1 }), { code: 'ENOENT' });

      await mkdir(path.dirname(target));
      await file.write({ n: 2 });
      assert.deepEqual(await file.read(), { n: 2 });
    });
  });
});
