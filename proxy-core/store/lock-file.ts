/**
 * One process owns a data dir.
 *
 * Guarantees: while a `DataDirLock` is held, no other Tollgate process (desktop or headless) can
 * open the same data dir, so two writers never overwrite each other's counters. A lock left by a
 * process that no longer runs (crash, kill -9) is taken over. Release removes the file only if it
 * is still ours.
 */

import { randomBytes } from 'node:crypto';
import { link, open, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { StoreError } from './store-error.ts';

export const LOCK_FILE = 'tollgate.lock';

interface LockContent {
  pid: number;
  startedAt: string;
}

export class DataDirLock {
  readonly path: string;
  #released = false;

  private constructor(file: string) {
    this.path = file;
  }

  /** Takes the lock of `dataDir` or throws `StoreError('DATA_DIR_BUSY')` naming the owner. */
  static async acquire(dataDir: string): Promise<DataDirLock> {
    const file = path.join(dataDir, LOCK_FILE);

    if ((await tryCreate(file)) || (await takeOverStale(file))) return new DataDirLock(file);

    const owner = await readOwner(file);
    throw new StoreError(
      'DATA_DIR_BUSY',
      `Another Tollgate (pid ${owner?.pid ?? 'unknown'}) is using ${dataDir}; ` +
        'stop it or pick another --data-dir',
      owner?.pid,
    );
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;

    const owner = await readOwner(this.path);
    if (owner?.pid === process.pid) await unlink(this.path).catch(() => undefined);
  }
}

/**
 * Replaces a lock whose owner no longer runs. Two starting processes may both see the same stale
 * lock; a second O_EXCL file serialises them, and each re-reads the lock inside it, so the later
 * one finds the earlier one's fresh lock alive and backs off instead of deleting it.
 */
async function takeOverStale(file: string): Promise<boolean> {
  const guard = `${file}.takeover`;
  if (!(await tryCreate(guard))) {
    // A takeover cut short by a crash leaves its guard behind; its pid is dead then.
    const holder = await readOwner(guard);
    if (holder !== null && isAlive(holder.pid)) return false;
    await unlink(guard).catch(() => undefined);
    if (!(await tryCreate(guard))) return false;
  }

  try {
    const owner = await readOwner(file);
    if (owner !== null && isAlive(owner.pid)) return false;

    await unlink(file).catch(() => undefined);
    return await tryCreate(file);
  } finally {
    await unlink(guard).catch(() => undefined);
  }
}

/**
 * Creates `file` with our pid in it, or returns false when it exists. The content is written to
 * a private file first and hard-linked into place, so nobody ever reads a lock that exists but
 * is still empty (and would look stale): `link` creates the name atomically, or fails with EEXIST.
 */
async function tryCreate(file: string): Promise<boolean> {
  const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  const content: LockContent = { pid: process.pid, startedAt: new Date().toISOString() };

  const handle = await open(draft, 'wx', 0o600);
  try {
    await handle.writeFile(JSON.stringify(content) + '\n', 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }

  try {
    await link(draft, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(draft).catch(() => undefined);
  }
}

/** The lock's owner, or null when the file is gone or unreadable (treated as stale). */
async function readOwner(file: string): Promise<LockContent | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return null;
  }

  // A lock written by an older version that crashed between create and write has no pid: stale.
  try {
    const parsed = JSON.parse(text) as Partial<LockContent>;
    return Number.isInteger(parsed.pid) && (parsed.pid as number) > 0
      ? (parsed as LockContent)
      : null;
  } catch {
    return null;
  }
}

// A pid reused by an unrelated process after a crash looks alive; the user then sees that pid in
// the message and can delete the lock. Comparing process start times would need per-OS tools.
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user; it is alive.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
