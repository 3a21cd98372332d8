import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));

const run = promisify(execFile);
const CLI = path.join(REPO, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js');

/**
 * Runs `electron-vite build` into a fresh folder under out/ (inside the repo, so the built main
 * still resolves node_modules; never the shared out/ itself, which others may be using), with a
 * package.json that makes the folder launchable as an app.
 */
export async function buildApp(): Promise<{
  dir: string;
  log: string;
  remove: () => Promise<void>;
}> {
  await mkdir(path.join(REPO, 'out'), { recursive: true });
  const dir = await mkdtemp(path.join(REPO, 'out', 'test-build-'));
  const remove = () => rm(dir, { recursive: true, force: true });

  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, 'build', '--outDir', dir], {
      cwd: REPO,
      env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' },
      timeout: 180_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8'));
    await writeFile(
      path.join(dir, 'package.json'),
      JSON.stringify({
        name: pkg.name,
        version: pkg.version,
        type: 'module',
        main: 'main/index.js',
      }),
    );
    return { dir, log: stdout + stderr, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}

/** The Electron executable, or null when the npm package was installed without its binary. */
export function electronBinary(): string | null {
  const pathFile = path.join(REPO, 'node_modules', 'electron', 'path.txt');
  if (!existsSync(pathFile)) return null;

  const binary = path.join(
    REPO,
    'node_modules',
    'electron',
    'dist',
    readFileSync(pathFile, 'utf8'),
  );
  return existsSync(binary) ? binary : null;
}
