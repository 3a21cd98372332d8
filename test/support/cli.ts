import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const TOLLGATE_BIN = fileURLToPath(new URL('../../bin/tollgate', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `bin/tollgate` as a user would, in a child process, and collects its output. */
export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}) {
  return new Promise<CliResult>((resolve, reject) => {
    const child = spawn(process.execPath, [TOLLGATE_BIN, ...args], {
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}
