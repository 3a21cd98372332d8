/**
 * The control API's per-launch secret and the file that hands it to local clients.
 *
 * Guarantees: the token has 256 bits from the OS's CSPRNG and is new each launch; it is
 * compared in constant time (both sides hashed to equal length first, so not even the length
 * leaks); the endpoint file is created with mode 0600 (owner only) through a temp file and a
 * rename, so no other user and no half-written file ever sees it; it is removed at shutdown
 * only when it still holds this launch's token.
 */

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CONTROL_ENDPOINT_FILE, type ControlEndpoint } from '../contract/control-api.ts';

export function createControlToken(): string {
  return randomBytes(32).toString('base64url');
}

export function tokensMatch(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export function controlEndpointPath(dataDir: string): string {
  return path.join(dataDir, CONTROL_ENDPOINT_FILE);
}

export async function writeControlEndpoint(
  dataDir: string,
  endpoint: ControlEndpoint,
): Promise<string> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const file = controlEndpointPath(dataDir);
  const temp = `${file}.${process.pid}.tmp`;

  await writeFile(temp, JSON.stringify(endpoint) + '\n', { mode: 0o600 });
  // The mode given to writeFile is filtered by the umask; make sure it is exactly 0600.
  await chmod(temp, 0o600);
  await rename(temp, file);
  return file;
}

/** Where a running Tollgate's control API is; a clear error when none is running. */
export async function readControlEndpoint(dataDir: string): Promise<ControlEndpoint> {
  const file = controlEndpointPath(dataDir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(
        `no running Tollgate found: ${file} does not exist (start one with 'tollgate serve', ` +
          `or pass --data-dir of the instance you mean)`,
        { cause: error },
      );
    }
    throw new Error(`cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }

  const parsed = parseEndpoint(text);
  if (!parsed) throw new Error(`${file} is not a Tollgate control endpoint file`);
  return parsed;
}

/** Removes the endpoint file if it is still ours (a newer launch may have replaced it). */
export async function removeControlEndpoint(dataDir: string, token: string): Promise<void> {
  const file = controlEndpointPath(dataDir);
  try {
    const current = parseEndpoint(await readFile(file, 'utf8'));
    if (current && tokensMatch(current.token, token)) await rm(file, { force: true });
  } catch {
    // Already gone, or unreadable: nothing of ours to clean up.
  }
}

function parseEndpoint(text: string): ControlEndpoint | null {
  try {
    const value = JSON.parse(text) as Partial<ControlEndpoint>;
    if (typeof value.port !== 'number' || typeof value.token !== 'string') return null;
    return {
      host: typeof value.host === 'string' ? value.host : '127.0.0.1',
      port: value.port,
      token: value.token,
      pid: typeof value.pid === 'number' ? value.pid : 0,
      startedAt: typeof value.startedAt === 'string' ? value.startedAt : '',
    };
  } catch {
    return null;
  }
}
