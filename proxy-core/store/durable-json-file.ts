import type { Adapter } from 'lowdb';
import { readTextIfExists, writeFileDurably } from './durable-write.ts';

/**
 * A lowdb adapter for one JSON file, durable and coalescing.
 *
 * Every write is crash-safe (`writeFileDurably`). Writes that arrive while one is in flight are
 * merged: only the newest data lands next, and all their promises settle with that write, so a
 * burst of updates costs two fsyncs, not one per update.
 *
 * `read` returns null when the file is missing and throws `SyntaxError` when it does not parse,
 * so the caller decides what a damaged file means.
 */
export class DurableJsonFile<T> implements Adapter<T> {
  readonly path: string;
  #writing = false;
  #nextText: string | null = null;
  #nextWaiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];

  constructor(file: string) {
    this.path = file;
  }

  async read(): Promise<T | null> {
    const text = await this.readText();
    return text === null ? null : (JSON.parse(text) as T);
  }

  /** The raw text, or null when the file does not exist. */
  readText(): Promise<string | null> {
    return readTextIfExists(this.path);
  }

  write(data: T): Promise<void> {
    // Serialise now: the caller may keep mutating `data` while an earlier write is in flight.
    const text = JSON.stringify(data, null, 2) + '\n';

    if (!this.#writing) return this.#run(text);

    this.#nextText = text;
    return new Promise((resolve, reject) => this.#nextWaiters.push({ resolve, reject }));
  }

  async #run(text: string): Promise<void> {
    this.#writing = true;
    try {
      await writeFileDurably(this.path, text);
    } finally {
      this.#writing = false;
      this.#startNext();
    }
  }

  #startNext(): void {
    const text = this.#nextText;
    if (text === null) return;

    const waiters = this.#nextWaiters;
    this.#nextText = null;
    this.#nextWaiters = [];
    this.#run(text).then(
      () => waiters.forEach((w) => w.resolve()),
      (error: unknown) => waiters.forEach((w) => w.reject(error)),
    );
  }
}
