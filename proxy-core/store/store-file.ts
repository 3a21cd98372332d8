import { MIGRATIONS, migrate, type Migration, type RawStoreData } from './migrations.ts';
import { SCHEMA_VERSION, emptyStoreData, type StoreData } from './types.ts';

/** What reading one data file gave: data, or the reason it cannot be used. */
/** The schema this build reads and how to get there; tests pass their own. */
export interface SchemaSteps {
  migrations: readonly Migration[];
  target: number;
}

export const CURRENT_SCHEMA: SchemaSteps = { migrations: MIGRATIONS, target: SCHEMA_VERSION };

export type ParsedStoreFile =
  { ok: true; data: StoreData; migrated: string[] } | { ok: false; problem: string };

/**
 * Parses and checks the text of a data file (main or backup). Damage (bad JSON, a truncated file,
 * a slice of the wrong type) is a result, not an exception: the caller moves the file aside.
 * A newer schema throws `StoreError('SCHEMA_TOO_NEW')`, since that file is fine, just not ours.
 */
export function parseStoreFile(
  text: string,
  file: string,
  schema: SchemaSteps = CURRENT_SCHEMA,
): ParsedStoreFile {
  if (text.trim() === '') return { ok: false, problem: 'the file is empty' };

  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { ok: false, problem: `not valid JSON (${(error as Error).message})` };
  }

  if (!isObject(raw)) return { ok: false, problem: 'the top level is not a JSON object' };
  const version = raw.schemaVersion;
  if (!Number.isInteger(version) || (version as number) < 1) {
    return { ok: false, problem: 'schemaVersion is missing or not a positive integer' };
  }

  const { data, applied } = migrate(raw, file, schema.migrations, schema.target);
  const problem = checkSlices(data);
  if (problem) return { ok: false, problem };

  // Slices added to StoreData after this file was written start empty; existing ones are kept.
  return { ok: true, data: { ...emptyStoreData(), ...data } as StoreData, migrated: applied };
}

function checkSlices(data: RawStoreData): string | null {
  const expected: [keyof StoreData, 'array' | 'object'][] = [
    ['policyHistory', 'array'],
    ['keys', 'array'],
    ['usage', 'object'],
    ['clock', 'object'],
    ['settings', 'object'],
  ];

  for (const [name, kind] of expected) {
    const value = data[name];
    if (value === undefined) continue;
    const fits = kind === 'array' ? Array.isArray(value) : isObject(value);
    if (!fits) return `"${name}" is not ${kind === 'array' ? 'an array' : 'an object'}`;
  }

  const clock = data.clock;
  if (isObject(clock) && typeof clock.offsetMs !== 'number') {
    return '"clock.offsetMs" is not a number';
  }
  return null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
