import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** A fresh directory under the OS temp folder, and a function that removes it. */
export async function tempDir(prefix = 'tollgate-test-') {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Runs `use` with a fresh temp directory and removes it afterwards, whether `use` threw or not. */
export async function withTempDir<T>(
  use: (dir: string) => Promise<T>,
  prefix?: string,
): Promise<T> {
  const { dir, remove } = await tempDir(prefix);
  try {
    return await use(dir);
  } finally {
    await remove();
  }
}
