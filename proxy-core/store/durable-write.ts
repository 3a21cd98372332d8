/**
 * Crash-safe file replacement, and reading such a file back (missing is null, not an error).
 *
 * Guarantees: after `writeFileDurably` resolves, the file holds exactly the new text and survives
 * a power cut or kill -9; at no moment does a reader see a missing, empty or half-written file,
 * because the text goes to a temp file in the same directory (same filesystem, so rename is
 * atomic), is fsynced, renamed over the target, and the directory entry is fsynced too.
 */

import { open, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

/** The temp file beside `file`; one fixed name, since one process owns a data dir (see lock). */
export function tempPathFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.tmp`);
}

export async function writeFileDurably(file: string, text: string, mode = 0o600): Promise<void> {
  const temp = tempPathFor(file);

  const handle = await open(temp, 'w', mode);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }

  try {
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }

  await syncDirectory(path.dirname(file));
}

/** Makes a rename or unlink in `dir` durable. */
export async function syncDirectory(dir: string): Promise<void> {
  // Windows cannot open a directory for fsync; NTFS journals the rename itself.
  if (process.platform === 'win32') return;

  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The text of a file written this way, or null when there is none (yet). */
export async function readTextIfExists(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}
