import os from 'node:os';
import path from 'node:path';

/**
 * The OS's per-user application data folder for Tollgate, unless `TOLLGATE_DATA_DIR` says
 * otherwise. Every command takes `--data-dir` to override both.
 */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TOLLGATE_DATA_DIR) return path.resolve(env.TOLLGATE_DATA_DIR);

  const home = os.homedir();
  switch (process.platform) {
    case 'darwin':
      return path.join(home, 'Library', 'Application Support', 'Tollgate');
    case 'win32':
      return path.join(env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'Tollgate');
    default:
      return path.join(env.XDG_DATA_HOME ?? path.join(home, '.local', 'share'), 'tollgate');
  }
}
