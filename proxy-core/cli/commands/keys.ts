// Guarantees: a new key goes to stdout once and is never written anywhere; the store keeps its
// SHA-256 and an 8-character prefix only; `list` never prints a hash.
import { createHash, randomBytes } from 'node:crypto';
import { access } from 'node:fs/promises';
import { connectToControlApi } from '../../control/connect.ts';
import { controlEndpointPath } from '../../control/endpoint-file.ts';
import { policySchema } from '../../policies/schema.ts';
import { Store } from '../../store/store.ts';
import { StoreError } from '../../store/store-error.ts';
import type { StoredKey } from '../../store/types.ts';
import { parseCommandArgs, resolveDataDir, UsageError, type Command } from '../command.ts';

const USAGE = `Usage: tollgate keys create --consumer NAME
       tollgate keys list [--json]
       tollgate keys revoke ID

API keys kept in the data dir. A new key is printed once; only its SHA-256 is stored. With a
Tollgate running on the data dir, the commands go through its control API; otherwise they
open the data dir's store directly.

Options:
  --consumer NAME  the consumer the new key identifies
  --json           list as JSON
  --data-dir DIR   the data dir (default: the per-user app data folder)`;

type KeyRow = Omit<StoredKey, 'sha256'>;

export const keysCommand: Command = {
  summary: 'Create, list and revoke API keys stored as hashes',
  usage: USAGE,

  async run({ argv, stdout, stderr }) {
    const { values, positionals } = parseCommandArgs(argv, {
      consumer: { type: 'string' },
      json: { type: 'boolean' },
    });
    const [action, id, ...extra] = positionals;
    if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
    const dataDir = resolveDataDir(values['data-dir']);
    const running = await isRunning(dataDir);

    if (action === 'create') {
      if (!values.consumer) throw new UsageError('create needs --consumer NAME');
      const created = running
        ? await (await connectToControlApi(dataDir)).keys.create(values.consumer)
        : await withStore(dataDir, (store) => createKey(store, values.consumer!));
      stdout(`${created.key}\n`);
      stderr(
        `Key ${created.id} for ${created.consumer}. It is shown only this once; store it now.\n`,
      );
      return 0;
    }

    if (action === 'list') {
      const keys: KeyRow[] = running
        ? (await (await connectToControlApi(dataDir)).keys.list()).keys
        : await withStore(dataDir, (store) => store.data.keys.map(({ sha256: _, ...k }) => k));
      stdout(values.json ? JSON.stringify(keys, null, 2) + '\n' : table(keys));
      return 0;
    }

    if (action === 'revoke') {
      if (!id) throw new UsageError('revoke needs the key ID (see tollgate keys list)');
      if (running) await (await connectToControlApi(dataDir)).keys.revoke(id);
      else await withStore(dataDir, (store) => revokeKey(store, id));
      stdout(`Key ${id} revoked.\n`);
      return 0;
    }

    throw new UsageError(action ? `unknown action '${action}'` : 'say create, list or revoke');
  },
};

async function isRunning(dataDir: string): Promise<boolean> {
  try {
    await access(controlEndpointPath(dataDir));
    return true;
  } catch {
    return false;
  }
}

async function withStore<T>(dataDir: string, work: (store: Store) => T): Promise<T> {
  let store: Store;
  try {
    store = await Store.open({ dataDir });
  } catch (error) {
    if (error instanceof StoreError && error.code === 'DATA_DIR_BUSY') {
      throw new Error(
        `the data dir ${dataDir} is locked by a running Tollgate whose control API was not ` +
          `found; use 'tollgate status' to check it, or stop it and try again`,
        { cause: error },
      );
    }
    throw error;
  }
  try {
    return work(store);
  } finally {
    await store.close();
  }
}

function createKey(store: Store, consumer: string): StoredKey & { key: string } {
  // The store's active policy, when it has one, must know the consumer.
  const policy = policySchema.safeParse(store.data.policy);
  if (policy.success && !policy.data.consumers.some((c) => c.name === consumer)) {
    throw new Error(`no consumer '${consumer}' in the active policy`);
  }

  const key = `tg_${randomBytes(24).toString('base64url')}`;
  const stored: StoredKey = {
    id: `key_${randomBytes(6).toString('hex')}`,
    consumer,
    sha256: createHash('sha256').update(key).digest('hex'),
    prefix: key.slice(0, 8),
    createdAt: new Date().toISOString(),
  };
  store.update((data) => void data.keys.push(stored));
  return { ...stored, key };
}

function revokeKey(store: Store, id: string): void {
  const key = store.data.keys.find((k) => k.id === id);
  if (!key) throw new Error(`no key '${id}' (see tollgate keys list)`);
  if (!key.revokedAt) {
    store.update(() => {
      key.revokedAt = new Date().toISOString();
    });
  }
}

function table(keys: KeyRow[]): string {
  if (keys.length === 0) return 'No stored keys.\n';
  const rows = [['ID', 'CONSUMER', 'PREFIX', 'CREATED', 'REVOKED']];
  for (const k of keys)
    rows.push([k.id, k.consumer, k.prefix + '…', k.createdAt, k.revokedAt ?? '-']);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return (
    rows
      .map((r) =>
        r
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}
