import { rename } from 'node:fs/promises';
import type { Logger } from '../log/logger.ts';
import type { BackupRotation } from './backups.ts';
import type { DurableJsonFile } from './durable-json-file.ts';
import { syncDirectory, writeFileDurably } from './durable-write.ts';
import { CURRENT_SCHEMA, parseStoreFile, type SchemaSteps } from './store-file.ts';
import { emptyStoreData, type StoreData } from './types.ts';
import path from 'node:path';

export interface StoreHealth {
  /** False whenever `problem` is set; the UI and `tollgate status` show it. */
  ok: boolean;
  problem?: string;
  /** Where a damaged data file was moved (`tollgate.json.corrupt-<time>`). */
  movedAside?: string;
  /** The backup the data was restored from. */
  restoredFrom?: string;
}

export interface LoadedStoreData {
  data: StoreData;
  health: StoreHealth;
  /** The data did not come from the main file as it is (new, restored, migrated): write it now. */
  mustWrite: boolean;
}

/**
 * Reads the data file at open. A damaged file is never silently replaced by defaults: it is moved
 * aside, the last good backup is restored, and the health says so; empty data is the last resort,
 * and then the health says that loudly.
 */
export async function loadStoreData(
  file: DurableJsonFile<StoreData>,
  backups: BackupRotation,
  log: Logger,
  schema: SchemaSteps = CURRENT_SCHEMA,
): Promise<LoadedStoreData> {
  const text = await file.readText();

  if (text === null) {
    const backup = await backups.readText();
    if (backup === null) return { data: emptyStoreData(), health: { ok: true }, mustWrite: true };
    return restore(`${file.path} was missing`, undefined, backups, log, schema);
  }

  const parsed = parseStoreFile(text, file.path, schema);
  if (parsed.ok) {
    const migrated = parsed.migrated.length > 0;
    if (migrated) {
      // The older file stays as it was, in case a migration turns out wrong.
      const kept = `${file.path}.before-migration`;
      await writeFileDurably(kept, text);
      log.info('store migrated', { file: file.path, steps: parsed.migrated, kept });
    }
    return { data: parsed.data, health: { ok: true }, mustWrite: migrated };
  }

  const movedAside = await moveAside(file.path);
  return restore(`${file.path} was damaged (${parsed.problem})`, movedAside, backups, log, schema);
}

async function restore(
  what: string,
  movedAside: string | undefined,
  backups: BackupRotation,
  log: Logger,
  schema: SchemaSteps,
): Promise<LoadedStoreData> {
  const kept = movedAside ? `; it was kept as ${movedAside}` : '';
  const backupText = await backups.readText();
  const backup = backupText === null ? null : parseStoreFile(backupText, backups.path, schema);

  if (backup?.ok) {
    const problem = `${what}${kept}; restored the last good backup ${backups.path}`;
    log.warn('store restored from backup', { problem });
    return {
      data: backup.data,
      health: { ok: false, problem, movedAside, restoredFrom: backups.path },
      mustWrite: true,
    };
  }

  const why = backup ? `the backup is damaged too (${backup.problem})` : 'there is no backup';
  const problem =
    `${what}${kept}, and ${why}: STARTED WITH EMPTY DATA. Policy, keys and usage counters ` +
    'are not loaded; restore them from the kept file by hand if you need them.';
  log.error('store started empty', { problem });
  return { data: emptyStoreData(), health: { ok: false, problem, movedAside }, mustWrite: true };
}

/** Renames a damaged file beside itself; colons are left out of the time for Windows. */
async function moveAside(file: string): Promise<string> {
  const stamp = new Date().toISOString().replace(/:/g, '-');
  const target = `${file}.corrupt-${stamp}`;
  await rename(file, target);
  await syncDirectory(path.dirname(file));
  return target;
}
