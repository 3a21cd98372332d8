import { readFile } from 'node:fs/promises';
import { readTextIfExists, writeFileDurably } from './durable-write.ts';

/**
 * Keeps `<file>.bak`, the last copy of the data file known to be good: it is refreshed only
 * right after a successful write of the file (or a successful parse at open), and at most once
 * per `intervalMs`, so a bad write pattern cannot rotate the good copy away at once.
 */
export class BackupRotation {
  readonly path: string;
  readonly #source: string;
  readonly #intervalMs: number;
  #lastAt = 0;
  #running: Promise<void> = Promise.resolve();

  constructor(source: string, intervalMs: number) {
    this.#source = source;
    this.path = `${source}.bak`;
    this.#intervalMs = intervalMs;
  }

  /** Call after the source file was written and is good; copies it when the interval is due. */
  afterGoodWrite(): Promise<void> {
    const now = Date.now();
    if (this.#lastAt !== 0 && now - this.#lastAt < this.#intervalMs) return this.#running;

    this.#lastAt = now;
    // Chained, so two copies never race on the same temp file.
    this.#running = this.#running.then(async () => {
      const text = await readFile(this.#source, 'utf8');
      await writeFileDurably(this.path, text);
    });
    return this.#running;
  }

  /** The backup's text, or null when there is none. */
  readText(): Promise<string | null> {
    return readTextIfExists(this.path);
  }
}
