/**
 * The shape of Tollgate's one data file (`<data-dir>/tollgate.json`).
 *
 * Each slice has one owner that reads and writes it through `Store.update`: the policy engine
 * owns `usage`, `clock` and `keys`; the control API owns `policy`, `policyHistory`, `settings`.
 * A change of shape bumps `SCHEMA_VERSION` and adds a migration in `migrations.ts`.
 */

export const SCHEMA_VERSION = 1;

export interface StoredKey {
  id: string;
  consumer: string;
  /** SHA-256 of the key, hex; the key itself is shown once at creation and never stored. */
  sha256: string;
  /** First characters of the key, to recognise it in lists (`tg_live_ab12…`). */
  prefix: string;
  createdAt: string;
  revokedAt?: string;
}

/** A counter of one limit for one subject (consumer, consumer+route or client address). */
export interface UsageRecord {
  /** Algorithm-specific state, JSON-serialisable. */
  state: Record<string, number>;
  /** Wall-clock epoch ms of the next calendar reset, for quotas. */
  resetAt?: number;
  updatedAt: number;
}

export interface PolicyRevision {
  id: number;
  at: string;
  source: 'file' | 'api' | 'cli' | 'ui' | 'restore' | 'start';
  /** The whole policy document as it was after this change. */
  policy: unknown;
  /** Short summary of what changed relative to the previous revision. */
  summary: string;
}

export interface StoreData {
  schemaVersion: number;
  /** The active policy document, as validated by `policies/`; null before any policy. */
  policy: unknown | null;
  policyHistory: PolicyRevision[];
  keys: StoredKey[];
  usage: Record<string, UsageRecord>;
  /** Virtual clock: milliseconds added to real time. */
  clock: { offsetMs: number };
  settings: Record<string, unknown>;
}

export function emptyStoreData(): StoreData {
  return {
    schemaVersion: SCHEMA_VERSION,
    policy: null,
    policyHistory: [],
    keys: [],
    usage: {},
    clock: { offsetMs: 0 },
    settings: {},
  };
}
