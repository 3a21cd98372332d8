/**
 * Where the CA lives on disk, and how its files are written.
 *
 * Guarantees: `<dataDir>/ca` and its `keys/` folder are 0700 (tightened if found looser),
 * private keys are created 0600 from the first byte (open with O_EXCL and that mode, then
 * rename into place), certificates 0644. Writes are atomic: a reader sees the old file or the
 * new one, never half of one, and a planted symlink at the final path is replaced, not followed.
 * Only the fixed names below are ever written; no hostname reaches a path.
 *
 * The layout is http-mitm-proxy's (`certs/ca.pem`, `keys/ca.private.key`, `keys/ca.public.key`)
 * so its `sslCaDir` can point here and load our CA instead of generating its own.
 */
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, open, readFile, readdir, rename, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';

export interface CaPaths {
  dir: string;
  certsDir: string;
  keysDir: string;
  certPath: string;
  privateKeyPath: string;
  publicKeyPath: string;
  leafKeyPath: string;
  installIdPath: string;
}

export function caPaths(dataDir: string): CaPaths {
  const dir = path.join(path.resolve(dataDir), 'ca');
  const certsDir = path.join(dir, 'certs');
  const keysDir = path.join(dir, 'keys');
  return {
    dir,
    certsDir,
    keysDir,
    certPath: path.join(certsDir, 'ca.pem'),
    privateKeyPath: path.join(keysDir, 'ca.private.key'),
    publicKeyPath: path.join(keysDir, 'ca.public.key'),
    leafKeyPath: path.join(keysDir, 'leaf.private.key'),
    installIdPath: path.join(dir, 'install-id'),
  };
}

/** A creation lock older than this was left by a process that died while holding it. */
const STALE_LOCK_MS = 15_000;

export const PRIVATE_FILE_MODE = 0o600;
export const PUBLIC_FILE_MODE = 0o644;

/** Creates the store's folders, and narrows them if an older version left them readable. */
export async function prepareCaDirs(paths: CaPaths): Promise<void> {
  await mkdir(path.dirname(paths.dir), { recursive: true, mode: 0o700 });
  await privateDir(paths.dir);
  await privateDir(paths.keysDir);
  await mkdir(paths.certsDir, { recursive: true, mode: 0o755 });
}

async function privateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const { mode } = await lstat(dir);
  if ((mode & 0o777) !== 0o700) await chmod(dir, 0o700);
}

/**
 * Runs `work` while holding `<dir>/.lock`, so two processes (`tollgate serve` and the desktop
 * app starting on a fresh install) never both create a CA and leave one's key beside the
 * other's certificate. Waits for a live holder; takes over a lock older than STALE_LOCK_MS.
 */
export async function withStoreLock<T>(paths: CaPaths, work: () => Promise<T>): Promise<T> {
  const lockPath = path.join(paths.dir, '.lock');
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx', PRIVATE_FILE_MODE);
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const held = await lstat(lockPath).catch(() => null);
      if (held && Date.now() - held.mtimeMs > STALE_LOCK_MS) await unlink(lockPath).catch(() => {});
      else await sleep(25);
    }
  }

  try {
    return await work();
  } finally {
    await unlink(lockPath).catch(() => {});
  }
}

/** Writes `data` to `file` atomically, the file having `mode` from the moment it exists. */
export async function writeFileAtomic(file: string, data: string, mode: number): Promise<void> {
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temp, 'wx', mode);
  try {
    // The umask may only have removed bits; set the exact mode before any content lands.
    await handle.chmod(mode);
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    await rename(temp, file);
  } catch (error) {
    await handle.close().catch(() => {});
    await unlink(temp).catch(() => {});
    throw error;
  }
}

/** The file's text, or null when it does not exist. */
export async function readIfExists(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** Narrows a private key file found with group/other access; says whether it had to. */
export async function tightenPrivateFile(file: string): Promise<boolean> {
  const { mode } = await lstat(file);
  if ((mode & 0o077) === 0) return false;
  await chmod(file, PRIVATE_FILE_MODE);
  return true;
}

/**
 * Deletes every file in `certs/` and `keys/` except the CA's own: per-host certificates written
 * by anything else (http-mitm-proxy writes `<host>.pem`) were signed by a CA that is now gone.
 */
export async function removeStaleLeaves(paths: CaPaths): Promise<string[]> {
  const keep = new Set([
    paths.certPath,
    paths.privateKeyPath,
    paths.publicKeyPath,
    paths.leafKeyPath,
  ]);
  const removed: string[] = [];

  for (const dir of [paths.certsDir, paths.keysDir]) {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (keep.has(file) || entry.isDirectory()) continue;
      await unlink(file);
      removed.push(file);
    }
  }
  return removed;
}
