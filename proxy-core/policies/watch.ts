/**
 * Re-reads a policy file when it changes on disk, for `tollgate serve --policy FILE`.
 *
 * Watches the file's directory rather than the file, because editors save by writing a new file
 * and renaming it over the old one, which ends a watch on the old inode. Changes are debounced;
 * an invalid version is reported with its errors and the running policy stays in force.
 */

import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { silentLogger, type Logger } from '../log/logger.ts';
import { parsePolicy, type PolicyError } from './load.ts';
import type { Policy } from './schema.ts';

export interface PolicyWatchOptions {
  /** Called with each new valid version (not for the version already loaded). */
  onPolicy(policy: Policy): void;
  /** Called when a changed version is invalid; the caller keeps its current policy. */
  onErrors?(errors: PolicyError[]): void;
  log?: Logger;
  /** @default 150 */
  debounceMs?: number;
}

export interface PolicyWatch {
  close(): void;
}

export async function watchPolicyFile(
  file: string,
  options: PolicyWatchOptions,
): Promise<PolicyWatch> {
  const log = (options.log ?? silentLogger).child('policy');
  const absolute = path.resolve(file);
  const name = path.basename(absolute);
  let lastText = await readFile(absolute, 'utf8').catch(() => '');
  let timer: NodeJS.Timeout | null = null;
  let closed = false;

  const reload = async () => {
    timer = null;
    let text: string;
    try {
      text = await readFile(absolute, 'utf8');
    } catch {
      return; // Mid-rename or deleted: the next event brings the new file.
    }
    if (closed || text === lastText) return;
    lastText = text;

    const result = parsePolicy(text, absolute);
    if (result.ok) {
      log.info('policy file changed; applying', { file: absolute });
      options.onPolicy(result.policy);
    } else {
      log.warn('policy file changed but is invalid; keeping the current policy', {
        file: absolute,
        errors: result.errors.length,
        first: `${result.errors[0]!.path}: ${result.errors[0]!.message}`,
      });
      options.onErrors?.(result.errors);
    }
  };

  const watcher: FSWatcher = watch(path.dirname(absolute), (_event, changed) => {
    if (closed || (changed !== null && changed !== name)) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void reload(), options.debounceMs ?? 150);
  });
  watcher.on('error', (error) => log.warn('policy watch failed', { error }));

  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      watcher.close();
    },
  };
}
