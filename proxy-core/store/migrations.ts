import { SCHEMA_VERSION } from './types.ts';
import { StoreError } from './store-error.ts';

/** A data file as read from disk, before it is known to match `StoreData`. */
export type RawStoreData = Record<string, unknown>;

/** One step from schema `from` to `from + 1`. */
export interface Migration {
  from: number;
  describe: string;
  migrate(data: RawStoreData): RawStoreData;
}

/**
 * Every schema change, oldest first. Schema 1 is the first shipped shape, so there is nothing
 * to migrate yet; a change of `StoreData` appends `{ from: 1, ... }` and bumps SCHEMA_VERSION.
 */
export const MIGRATIONS: readonly Migration[] = [];

/**
 * Brings `data` up to `target`, one step at a time. A file written by a newer Tollgate is
 * refused rather than read with missing meaning (and later overwritten in the older shape).
 * Returns the descriptions of the steps applied.
 */
export function migrate(
  data: RawStoreData,
  file: string,
  migrations: readonly Migration[] = MIGRATIONS,
  target: number = SCHEMA_VERSION,
): { data: RawStoreData; applied: string[] } {
  let version = data.schemaVersion as number;
  if (version > target) {
    throw new StoreError(
      'SCHEMA_TOO_NEW',
      `${file} was written by a newer Tollgate ` +
        `(schema ${version}; this one reads up to ${target}). ` +
        'Upgrade Tollgate, or pick another --data-dir; the file was left untouched.',
    );
  }

  const applied: string[] = [];
  let current = data;
  while (version < target) {
    const step = migrations.find((m) => m.from === version);
    if (!step) throw new Error(`store: no migration from schema ${version} (a Tollgate bug)`);

    current = { ...step.migrate(current), schemaVersion: version + 1 };
    applied.push(`${version}→${version + 1}: ${step.describe}`);
    version += 1;
  }
  return { data: current, applied };
}
