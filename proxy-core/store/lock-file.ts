/**
 * One process owns a data dir.
 *
 * Guarantees: while a `DataDirLock` is held, no other Tollgate process (desktop or headless) can
 * open the same data dir, so two writers never overwrite each other's counters. A lock left by a
 * process that no longer runs (crash, kill -9) is taken over. Release removes the file only if it
 * is still ours.
 */

import { open, readFile, unlink } from 'node:fs/promises';
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

    if (await tryCreate(file)) return new DataDirLock(file);

    const owner = await readOwner(file);
    if (owner !== null && isAlive(owner.pid)) {
      throw new StoreError(
        'DATA_DIR_BUSY',
        `Another Tollgate (pid ${owner.pid}) is using ${dataDir}; stop it or pick another --data-dir`,
      );
    }

    // Stale: its owner is gone. Two processes taking over the same stale lock at the same instant
    // could both unlink; the second `tryCreate` then fails for one of them, which we report.
    await unlink(file).catch(() => undefined);
    if (await tryCreate(file)) return new DataDirLock(file);

    const winner = await readOwner(file);
    throw new StoreError(
      'DATA_DIR_BUSY',
      `Another Tollgate (pid ${winner?.pid ?? 'unknown'}) is using ${dataDir}; stop it or pick another --data-dir`,
    );
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;

    const owner = await readOwner(this.path);
    if (owner?.pid === process.pid) await unlink(this.path).catch(() => undefined);
  }
}

async function tryCreate(file: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(file, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }

  try {
    const content: LockContent = { pid: process.pid, startedAt: new Date().toISOString() };
    await handle.writeFile(JSON.stringify(content) + '\n', 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  return true;
}

/** The lock's owner, or null when the file is gone or unreadable (treated as stale). */
async function readOwner(file: string): Promise<LockContent | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return null;
  }

  // A lock cut short between create and write (a crash in that instant) has no pid: stale.
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
