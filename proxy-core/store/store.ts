/**
 * Tollgate's durable store: one lowdb JSON file per data dir.
 *
 * Guarantees: one process owns a data dir (lock file); every write is crash-safe (temp file,
 * fsync, rename, fsync dir); an update is on disk within `flushIntervalMs` (kill -9 loses at most
 * that window); a damaged file is moved aside and the last good backup restored, never silently
 * replaced by defaults; a file from a newer Tollgate is refused, not overwritten.
 */

import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Low } from 'lowdb';
import { silentLogger, type Logger } from '../log/logger.ts';
import { BackupRotation } from './backups.ts';
import { DurableJsonFile } from './durable-json-file.ts';
import { loadStoreData, type StoreHealth } from './load-store-data.ts';
import { DataDirLock } from './lock-file.ts';
import type { StoreData } from './types.ts';

export type { StoreHealth } from './load-store-data.ts';

export const DATA_FILE = 'tollgate.json';

export interface StoreOptions {
  dataDir: string;
  /**
   * How long an update may wait before it is written; bounds what a crash can lose.
   * @default 1000
   */
  flushIntervalMs?: number;
  /**
   * Minimum time between refreshes of `tollgate.json.bak`.
   * @default 60000
   */
  backupIntervalMs?: number;
  log?: Logger;
}

export class Store {
  readonly dataDir: string;
  readonly #db: Low<StoreData>;
  readonly #lock: DataDirLock;
  readonly #backups: BackupRotation;
  readonly #flushIntervalMs: number;
  readonly #log: Logger;
  readonly #openHealth: StoreHealth;
  #writeProblem: string | null = null;
  #dirty = false;
  #timer: NodeJS.Timeout | null = null;
  #lastWrite: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(
    options: Required<Omit<StoreOptions, 'backupIntervalMs'>>,
    db: Low<StoreData>,
    lock: DataDirLock,
    backups: BackupRotation,
    health: StoreHealth,
  ) {
    this.dataDir = options.dataDir;
    this.#flushIntervalMs = options.flushIntervalMs;
    this.#log = options.log;
    this.#db = db;
    this.#lock = lock;
    this.#backups = backups;
    this.#openHealth = health;
  }

  /** Takes the data dir's lock, reads (or recovers) the data file, and returns the store. */
  static async open(options: StoreOptions): Promise<Store> {
    const dataDir = path.resolve(options.dataDir);
    const flushIntervalMs = options.flushIntervalMs ?? 1000;
    const log = (options.log ?? silentLogger).child('store');
    if (!Number.isFinite(flushIntervalMs) || flushIntervalMs < 0) {
      throw new Error(`store: flushIntervalMs must be a number >= 0, got ${flushIntervalMs}`);
    }

    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const lock = await DataDirLock.acquire(dataDir);

    try {
      const file = new DurableJsonFile<StoreData>(path.join(dataDir, DATA_FILE));
      const backups = new BackupRotation(file.path, options.backupIntervalMs ?? 60_000);
      const loaded = await loadStoreData(file, backups, log);

      // lowdb holds the data and writes through our adapter; its presets are not used because
      // they switch to memory under NODE_ENV=test.
      const db = new Low<StoreData>(file, loaded.data);
      const store = new Store({ dataDir, flushIntervalMs, log }, db, lock, backups, loaded.health);

      if (loaded.mustWrite) {
        store.#dirty = true;
        await store.flush();
      } else {
        // The file just parsed, so it is a good copy to keep.
        await backups.afterGoodWrite().catch((error: unknown) => store.#noteWriteError(error));
      }
      return store;
    } catch (error) {
      await lock.release();
      throw error;
    }
  }

  /** The live data. Read freely; change it only inside `update`. */
  get data(): StoreData {
    return this.#db.data;
  }

  get health(): StoreHealth {
    if (this.#writeProblem === null) return { ...this.#openHealth };
    const problems = [this.#openHealth.problem, this.#writeProblem].filter(Boolean);
    return { ...this.#openHealth, ok: false, problem: problems.join('; ') };
  }

  /**
   * Applies `mutate` to the data now (readers see it at once) and schedules a write within
   * `flushIntervalMs`. `mutate` runs on the live data, so it should validate before changing.
   */
  update(mutate: (data: StoreData) => void): void {
    if (this.#closed) throw new Error('store: update after close');

    mutate(this.#db.data);
    this.#dirty = true;
    this.#schedule();
  }

  /** Writes pending updates now; resolves once everything updated so far is on disk. */
  async flush(): Promise<void> {
    this.#clearTimer();
    if (!this.#dirty) return this.#lastWrite;

    this.#dirty = false;
    const write = this.#db.write().then(
      () => this.#afterWrite(),
      (error: unknown) => {
        // Keep the data marked unwritten and try again later; the caller hears of it too.
        this.#dirty = true;
        this.#noteWriteError(error);
        this.#schedule();
        throw error;
      },
    );
    this.#lastWrite = write.catch(() => undefined);
    return write;
  }

  /** Flushes and releases the data dir. The store cannot be updated afterwards. */
  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.flush();
    } finally {
      this.#closed = true;
      this.#clearTimer();
      await this.#lock.release();
    }
  }

  async #afterWrite(): Promise<void> {
    if (this.#writeProblem !== null) this.#log.info('store writable again');
    this.#writeProblem = null;
    await this.#backups.afterGoodWrite().catch((error: unknown) => {
      this.#log.warn('store backup failed', { file: this.#backups.path, error });
    });
  }

  #noteWriteError(error: unknown): void {
    const file = path.join(this.dataDir, DATA_FILE);
    const problem = `could not write ${file}: ${(error as Error).message}`;
    if (problem !== this.#writeProblem) this.#log.error('store write failed', { problem });
    this.#writeProblem = problem;
  }

  #schedule(): void {
    if (this.#timer !== null || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.flush().catch(() => undefined); // noted in #noteWriteError and retried
    }, this.#flushIntervalMs);
  }

  #clearTimer(): void {
    if (this.#timer === null) return;
    clearTimeout(this.#timer);
    this.#timer = null;
  }
}
