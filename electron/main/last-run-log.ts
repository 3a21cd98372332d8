import { createWriteStream, type WriteStream } from 'node:fs';
import type { WebContents } from 'electron';

/**
 * `last-run.log`: everything this launch logged, main and renderer, replaced at each launch, so
 * a user can attach one file to a bug report. Lines come from the redacting logger.
 */
export class LastRunLog {
  readonly path: string;
  readonly #stream: WriteStream;

  constructor(file: string) {
    this.path = file;
    this.#stream = createWriteStream(file, { flags: 'w', mode: 0o600 });
    // A log that cannot be written must never take the app down.
    this.#stream.on('error', () => undefined);
  }

  write(line: string): void {
    this.#stream.write(`${new Date().toISOString()} ${line}\n`);
  }

  /** Copies the page's console output into the log. */
  captureConsole(contents: WebContents): void {
    contents.on('console-message', (event) => {
      const { level, message, sourceId, lineNumber } = event;
      this.write(
        `level=${level} src=renderer msg=${JSON.stringify(message)} at=${sourceId}:${lineNumber}`,
      );
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#stream.end(resolve));
  }
}
